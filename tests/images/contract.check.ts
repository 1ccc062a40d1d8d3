/**
 * The static contract of the Node services' Dockerfiles, read by dockerfile-ast and linted by
 * dockerfile-utils. Every rule is also run on a small Dockerfile that breaks it, so none of
 * them can pass by not looking.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    checkExecFormCmd,
    checkInstallScriptsSafe,
    checkLint,
    checkLockfileFirst,
    checkMultiStage,
    checkNonRootUser,
    checkPinnedBases,
    checkProductionDeps,
    checkWorkspaceNodeModules,
    parseDockerfile,
    type ParsedDockerfile,
} from "./dockerfile";

const ROOT = path.resolve(__dirname, "../..");
const NODE_DOCKERFILES = ["services/model-api/Dockerfile", "services/data-api/Dockerfile", "services/ui/Dockerfile"] as const;

const lockfile = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
const load = (file: string): ParsedDockerfile => parseDockerfile(file, fs.readFileSync(path.join(ROOT, file), "utf8"));

describe.each(NODE_DOCKERFILES)("%s", (file) => {
    const df = load(file);

    it("has no error-severity lint diagnostics (dockerfile-utils)", () => {
        expect(checkLint(df), `${file}: lint errors`).toEqual([]);
    });
    it("is multi-stage (build tools stay out of the runtime image)", () => {
        expect(checkMultiStage(df)).toEqual([]);
    });
    it("pins every FROM to a version tag (ARG defaults resolved)", () => {
        expect(df.stages.length, `${file}: no FROM parsed`).toBeGreaterThan(0);
        expect(checkPinnedBases(df)).toEqual([]);
    });
    it("runs the final stage as a non-root numeric uid:gid", () => {
        expect(checkNonRootUser(df)).toEqual([]);
    });
    it("takes the final node_modules from an --omit=dev install and installs nothing dev in the final stage", () => {
        expect(checkProductionDeps(df)).toEqual([]);
    });
    it("copies package-lock.json before every npm ci", () => {
        expect(checkLockfileFirst(df)).toEqual([]);
    });
    it("starts with an exec-form CMD", () => {
        expect(checkExecFormCmd(df)).toEqual([]);
    });
    it("lets no install script download (ONNXRUNTIME_NODE_INSTALL=skip or --ignore-scripts)", () => {
        expect(checkInstallScriptsSafe(df)).toEqual([]);
    });
    it("copies the workspace-local node_modules the lockfile places under the service", () => {
        expect(checkWorkspaceNodeModules(df, lockfile)).toEqual([]);
    });
});

describe("the three Node Dockerfiles together", () => {
    it("build on one pinned base image", () => {
        const images = new Map(NODE_DOCKERFILES.map((f) => [f, [...new Set(load(f).stages.map((s) => s.image))]]));
        const all = new Set([...images.values()].flat());
        expect(all.size, `base images differ: ${JSON.stringify(Object.fromEntries(images))}`).toBe(1);
    });
});

// ---------------------------------------------------------------------------------------------
// Each rule against a Dockerfile that breaks it.

const GOOD = `ARG NODE_IMAGE=docker.io/library/node:20.20.2-bookworm-slim
FROM \${NODE_IMAGE} AS build
WORKDIR /repo
COPY package.json package-lock.json ./
COPY services/ services/
RUN npm ci --ignore-scripts -w services/x && npm run build -w services/x

FROM \${NODE_IMAGE} AS prod-deps
WORKDIR /repo
COPY package.json package-lock.json ./
COPY services/ services/
RUN npm ci --ignore-scripts --omit=dev -w services/x

FROM \${NODE_IMAGE}
WORKDIR /app
COPY --from=prod-deps /repo/node_modules ./node_modules
COPY --from=prod-deps /repo/services/x/node_modules ./services/x/node_modules
COPY --from=build /repo/services/x/dist ./services/x/dist
USER 1000:1000
CMD ["node", "services/x/dist/server.js"]
`;
const lockWithNested = { packages: { "services/x/node_modules/a": {}, "services/x/node_modules/devonly": { dev: true } } };
const edit = (from: string, to: string): string => {
    if (!GOOD.includes(from)) throw new Error(`test fixture: '${from}' not in GOOD`);
    return GOOD.replace(from, to);
};

describe("each rule fails on a Dockerfile that breaks it", () => {
    it("the good fixture passes every rule (so the cases below fail for their one reason)", () => {
        const df = parseDockerfile("good", GOOD);
        for (const check of [checkLint, checkMultiStage, checkPinnedBases, checkNonRootUser, checkProductionDeps, checkLockfileFirst, checkExecFormCmd, checkInstallScriptsSafe]) {
            expect(check(df), check.name).toEqual([]);
        }
        expect(checkWorkspaceNodeModules(df, lockWithNested)).toEqual([]);
    });

    it.each([
        ["lint: unknown instruction", checkLint, edit("WORKDIR /app", "WORKDIR /app\nFROBNICATE x"), /FROBNICATE|unknown/i],
        ["single stage", checkMultiStage, `FROM node:20.20.2\nCMD ["node", "x.js"]\n`, /1 stage/],
        ["FROM latest", checkPinnedBases, edit("node:20.20.2-bookworm-slim", "node:latest"), /latest/],
        ["FROM untagged", checkPinnedBases, edit("node:20.20.2-bookworm-slim", "node"), /no tag/],
        ["FROM through an ARG without default", checkPinnedBases, edit("ARG NODE_IMAGE=docker.io/library/node:20.20.2-bookworm-slim", "ARG NODE_IMAGE"), /does not resolve/],
        ["no USER", checkNonRootUser, edit("USER 1000:1000\n", ""), /no USER/],
        ["USER by name", checkNonRootUser, edit("USER 1000:1000", "USER node"), /not a numeric/],
        ["USER root gid", checkNonRootUser, edit("USER 1000:1000", "USER 1000:0"), /root/],
        ["deps stage keeps devDependencies", checkProductionDeps, edit("--omit=dev -w services/x", "-w services/x"), /without --omit=dev/],
        ["npm ci in the final stage", checkProductionDeps, edit("USER 1000:1000", "RUN npm ci\nUSER 1000:1000"), /installs devDependencies/],
        ["no node_modules from a stage", checkProductionDeps, edit("COPY --from=prod-deps /repo/node_modules ./node_modules\nCOPY --from=prod-deps /repo/services/x/node_modules ./services/x/node_modules\n", ""), /copies no node_modules/],
        ["npm ci before the lockfile", checkLockfileFirst, edit("COPY package.json package-lock.json ./\nCOPY services/ services/\nRUN npm ci --ignore-scripts --omit=dev", "COPY package.json ./\nCOPY services/ services/\nRUN npm ci --ignore-scripts --omit=dev"), /before package-lock.json/],
        ["npm install instead of ci", checkLockfileFirst, edit("RUN npm ci --ignore-scripts --omit=dev", "RUN npm install --ignore-scripts --omit=dev"), /use npm ci/],
        ["shell-form CMD", checkExecFormCmd, edit('CMD ["node", "services/x/dist/server.js"]', "CMD node services/x/dist/server.js"), /shell form/],
        ["install scripts without the skip", checkInstallScriptsSafe, edit("RUN npm ci --ignore-scripts --omit=dev", "RUN npm ci --omit=dev"), /ONNXRUNTIME_NODE_INSTALL=skip/],
    ] as const)("%s", (_name, check, text, message) => {
        const problems = check(parseDockerfile("broken", text));
        expect(problems.length, `expected a problem, got none for:\n${text}`).toBeGreaterThan(0);
        expect(problems.join("\n")).toMatch(message);
        expect(problems.join("\n")).toMatch(/^broken/);
    });

    it("workspace-local node_modules not copied", () => {
        const text = edit("COPY --from=prod-deps /repo/services/x/node_modules ./services/x/node_modules\n", "");
        const problems = checkWorkspaceNodeModules(parseDockerfile("broken", text), lockWithNested);
        expect(problems.join("\n")).toMatch(/1 production package\(s\) under services\/x\/node_modules \(a\).*\/repo\/services\/x\/node_modules/);
    });
});
