import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../../..");

/** What the tests get through `inject` (see test/support/helpers.ts). */
export interface Provided {
    fixtures: { v1: string; v2: string };
    /** Models that reference data outside their file (test/fixtures/untrusted_models.py): `external/`, `nested/`. */
    untrusted: string;
    venvs: { pipeline: string; mlflow: string };
}

interface Project {
    provide(key: string, value: unknown): void;
}

function venv(name: string): string {
    // venv.sh builds on first use (minutes) and answers from its cache afterwards.
    return execFileSync("bash", [path.join(repo, "tools/python/venv.sh"), name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

/**
 * Real fixture models from test/fixtures/make_model.py (scikit-learn -> skl2onnx), two
 * versions with different seeds, cached by the hash of the generator and its inputs.
 */
export default function setup(project: Project): void {
    const pipeline = venv("pipeline");
    const mlflow = venv("mlflow");
    const script = path.join(__dirname, "fixtures/make_model.py");
    const key = createHash("sha256")
        .update(fs.readFileSync(script))
        .update(fs.readFileSync(path.join(__dirname, "fixtures/untrusted_models.py")))
        .update(fs.readFileSync(path.join(repo, "config/feature-spec.example.json")))
        .update(fs.readFileSync(path.join(repo, "dags/requirements.txt")))
        .digest("hex")
        .slice(0, 12);
    const root = path.join(process.env.MLOPS_CACHE_DIR ?? path.join(os.homedir(), ".cache/mlops-platform"), "model-api-fixtures", key);
    const dirs = { v1: path.join(root, "v1"), v2: path.join(root, "v2") };
    const params = { v1: ["--seed", "1", "--trees", "30"], v2: ["--seed", "2", "--trees", "20"] };
    for (const v of ["v1", "v2"] as const) {
        if (fs.existsSync(path.join(dirs[v], ".complete"))) continue;
        const t = Date.now();
        execFileSync(path.join(pipeline, "bin/python"), [script, "--out", dirs[v], ...params[v]], { stdio: ["ignore", "inherit", "inherit"] });
        fs.writeFileSync(path.join(dirs[v], ".complete"), "");
        console.log(`fixture model ${v} generated in ${Date.now() - t} ms`);
    }
    const untrusted = path.join(root, "untrusted");
    if (!fs.existsSync(path.join(untrusted, ".complete"))) {
        execFileSync(path.join(pipeline, "bin/python"), [path.join(__dirname, "fixtures/untrusted_models.py"), "--model", dirs.v1, "--out", untrusted], { stdio: ["ignore", "inherit", "inherit"] });
        fs.writeFileSync(path.join(untrusted, ".complete"), "");
    }
    project.provide("fixtures", dirs satisfies Provided["fixtures"]);
    project.provide("untrusted", untrusted satisfies Provided["untrusted"]);
    project.provide("venvs", { pipeline, mlflow } satisfies Provided["venvs"]);
}
