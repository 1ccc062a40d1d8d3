/**
 * The Python images install exactly a hash-locked set: each lock pins every package with its
 * hashes and agrees with the pin files people edit, the Dockerfile installs only it (--no-deps,
 * --require-hashes), the local base installs its versions, the image recipe builds with it
 * and the test venv is held to it. Every rule is also run on a broken copy that must fail.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDockerfile } from "./dockerfile";
import { checkConstraintsFromLock, checkInstallsLock, checkLockHasPins, checkVenvUsesLock, parseLock } from "./python-lock";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => ({ label: file, text: fs.readFileSync(path.join(ROOT, file), "utf8") });

const IMAGES = [
    {
        image: "airflow",
        dockerfile: "services/airflow/Dockerfile",
        lock: "services/airflow/requirements.lock.txt",
        pins: ["services/airflow/requirements.txt", "dags/requirements.txt"],
        constraints: "tools/images/airflow-base/constraints-3.11.txt",
        venv: "tools/python/airflow.txt",
        // The venv adds pytest, which the lock lacks: the lock's versions without hashes.
        venvConstraint: "tools/images/airflow-base/constraints-3.11.txt",
    },
    {
        image: "mlflow",
        dockerfile: "services/mlflow/Dockerfile",
        lock: "services/mlflow/requirements.lock.txt",
        pins: ["services/mlflow/requirements.txt"],
        constraints: "tools/images/mlflow-base/constraints-3.11.txt",
        venv: "tools/python/mlflow.txt",
        venvConstraint: "services/mlflow/requirements.lock.txt",
    },
] as const;

/** IMAGE_FILES of a recipe, as build.sh sources it. */
const imageFiles = (image: string): string[] =>
    execFileSync("bash", ["-c", `. "$0"; printf '%s\\n' "\${IMAGE_FILES[@]}"`, path.join(ROOT, "tools/images", image, "image.sh")], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean);

describe.each(IMAGES)("the $image image", (img) => {
    const lock = parseLock(img.lock, read(img.lock).text);

    it("has a lock whose every entry is an exact pin with sha256 hashes and nothing else", () => {
        expect(lock.problems).toEqual([]);
        expect(lock.entries.length).toBeGreaterThan(50);
        expect(lock.entries.filter((e) => e.hashes.length === 0)).toEqual([]);
    });
    it("locks each package of the pin files at the version they pin", () => {
        expect(checkLockHasPins(lock, img.pins.map(read))).toEqual([]);
    });
    it("installs only the lock, with --no-deps and --require-hashes", () => {
        const df = read(img.dockerfile);
        expect(checkInstallsLock(parseDockerfile(df.label, df.text), img.lock)).toEqual([]);
    });
    it("builds here with the lock in the build context (tools/images recipe)", () => {
        expect(imageFiles(img.image)).toEqual([img.lock]);
    });
    it("has a local base that installs the lock's versions", () => {
        expect(checkConstraintsFromLock(lock, read(img.constraints))).toEqual([]);
    });
    it("has a test venv that installs the pin files held to the lock's versions", () => {
        expect(checkVenvUsesLock(read(img.venv), [...img.pins], img.venvConstraint)).toEqual([]);
    });
});

describe("the rules catch what breaks them", () => {
    const LOCK = [
        "# a comment",
        "numpy==2.3.5 \\",
        `    --hash=sha256:${"a".repeat(64)} \\`,
        `    --hash=sha256:${"b".repeat(64)}`,
        "    # via -r dags/requirements.txt",
        `scipy==1.15.3 ; python_full_version < '3.11' --hash=sha256:${"c".repeat(64)}`,
        `scipy==1.17.1 ; python_full_version >= '3.11' --hash=sha256:${"d".repeat(64)}`,
        "",
    ].join("\n");
    const lock = parseLock("x.lock.txt", LOCK);
    const DOCKERFILE = [
        "FROM python:3.11-slim",
        "COPY x.lock.txt /tmp/",
        "RUN pip install --no-cache-dir --no-deps --require-hashes -r /tmp/x.lock.txt",
        "USER 1000:1000",
    ].join("\n");
    const dockerfileWith = (run: string) => parseDockerfile("Dockerfile", DOCKERFILE.replace(/^RUN .*$/m, run));

    it("reads a well-formed lock, markers and continuation lines included", () => {
        expect(lock.problems).toEqual([]);
        expect(lock.entries.map((e) => [e.name, e.version, e.marker, e.hashes.length, e.line])).toEqual([
            ["numpy", "2.3.5", null, 2, 2],
            ["scipy", "1.15.3", "python_full_version < '3.11'", 1, 6],
            ["scipy", "1.17.1", "python_full_version >= '3.11'", 1, 7],
        ]);
        expect(checkLockHasPins(lock, [{ label: "p.txt", text: "NumPy==2.3.5\n" }])).toEqual([]);
        expect(checkInstallsLock(parseDockerfile("Dockerfile", DOCKERFILE), "x.lock.txt")).toEqual([]);
    });

    it.each([
        ["a lock entry without a hash", "numpy==2.3.5\n", ["x.lock.txt:1: numpy==2.3.5 has no --hash"]],
        ["a range instead of a pin", `numpy>=2 --hash=sha256:${"a".repeat(64)}\nsix==1.17.0 --hash=sha256:${"b".repeat(64)}\n`, ["x.lock.txt:1: 'numpy>=2' is not an exact pin (name==version)"]],
        ["another option after a pin", `numpy==2.3.5 --hash=md5:abc --hash=sha256:${"a".repeat(64)}\n`, ["x.lock.txt:1: numpy==2.3.5 has '--hash=md5:abc', where only --hash=sha256:<64 hex> may follow a pin"]],
        ["two versions and no marker", `numpy==2.3.5 --hash=sha256:${"a".repeat(64)}\nnumpy==2.4.0 --hash=sha256:${"b".repeat(64)}\n`, ["x.lock.txt: numpy is locked 2 times, and not every entry has a marker that tells them apart"]],
    ])("%s", (_what, text, problems) => {
        expect(parseLock("x.lock.txt", text).problems).toEqual(problems);
    });

    it.each([
        ["a pin the lock has at another version", "numpy==2.4.0\n", ["p.txt:1 pins numpy==2.4.0, but x.lock.txt locks 2.3.5 (run tools/python/lock.sh)"]],
        ["a pin the lock lacks", "pandas==2.3.3\n", ["p.txt:1 pins pandas==2.3.3, which x.lock.txt does not lock (run tools/python/lock.sh)"]],
        ["a pin the lock forks by Python", "scipy==1.17.1\n", ["p.txt:1 pins scipy==1.17.1, but x.lock.txt locks 1.15.3 ; python_full_version < '3.11', 1.17.1 ; python_full_version >= '3.11' (run tools/python/lock.sh)"]],
        ["a range in a pin file", "numpy>=2\n", ["p.txt:1: 'numpy>=2' is not an exact pin (name==version, no marker)"]],
    ])("a pin file with %s", (_what, text, problems) => {
        expect(checkLockHasPins(lock, [{ label: "p.txt", text }])).toEqual(problems);
    });

    it.each([
        ["a version the lock does not have", "numpy==2.4.0\nscipy==1.17.1\n", ["c.txt:1: numpy==2.4.0 is not in x.lock.txt (run tools/python/lock.sh)", "c.txt lacks numpy==2.3.5 of x.lock.txt (run tools/python/lock.sh)"]],
        ["a locked package missing", "scipy==1.17.1\n", ["c.txt lacks numpy==2.3.5 of x.lock.txt (run tools/python/lock.sh)"]],
    ])("base constraints with %s", (_what, text, problems) => {
        expect(checkConstraintsFromLock(lock, { label: "c.txt", text })).toEqual(problems);
    });

    it.each([
        ["without --require-hashes", "RUN pip install --no-deps -r /tmp/x.lock.txt", ["Dockerfile: pip install without --require-hashes"]],
        ["without --no-deps", "RUN pip install --require-hashes -r /tmp/x.lock.txt", ["Dockerfile: pip install without --no-deps"]],
        ["from the pin file", "RUN pip install --no-deps --require-hashes -r /tmp/requirements.txt",
            ["Dockerfile: pip install reads /tmp/requirements.txt, where it must read only the copied lock (/tmp/x.lock.txt)"]],
        ["with a package beside the lock", "RUN pip install --no-deps --require-hashes -r /tmp/x.lock.txt statsd==4.0.1",
            ["Dockerfile: pip install is also given statsd==4.0.1: only the lock may name what is installed"]],
        ["with a second install", "RUN pip install --no-deps --require-hashes -r /tmp/x.lock.txt && python -m pip install statsd",
            ["Dockerfile: 2 pip install commands in the final stage, where the lock must be the one install"]],
    ])("a Dockerfile that installs %s", (_what, run, problems) => {
        expect(checkInstallsLock(dockerfileWith(run), "x.lock.txt")).toEqual(problems);
    });

    it("a Dockerfile that does not copy the lock", () => {
        expect(checkInstallsLock(parseDockerfile("Dockerfile", DOCKERFILE.replace(/^COPY .*$/m, "")), "x.lock.txt")).toEqual(["Dockerfile: does not COPY x.lock.txt"]);
    });

    it.each([
        ["pins without the lock", "-r ../../p.txt\n", ["tools/python/v.txt: -c nothing, where it must be x.lock.txt"]],
        ["another pin file", "-r ../../q.txt\n-c ../../x.lock.txt\n", ["tools/python/v.txt: -r q.txt, where the image's pin files are p.txt"]],
    ])("a test venv with %s", (_what, text, problems) => {
        expect(checkVenvUsesLock({ label: "tools/python/v.txt", text }, ["p.txt"], "x.lock.txt")).toEqual(problems);
    });
});
