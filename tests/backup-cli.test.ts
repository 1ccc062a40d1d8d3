import { describe, expect, it } from "vitest";
import { parseArgs } from "../scripts/backup/cli";
import { incompatibilities, Manifest, parseManifest, postgresMajor } from "../scripts/backup/manifest";

const manifest: Manifest = {
    format: 1,
    id: "platform-backup-29400001",
    kind: "full",
    createdAt: "2026-11-30T02:00:03Z",
    postgresServerVersionNum: 170012,
    versions: { postgres: "17.12-trixie", mlflow: "3.5.1-1", airflow: "3.3.2-1" },
    databases: [{ name: "mlflow", file: "dumps/mlflow.dump", bytes: 10, sha256: "a".repeat(64) }],
    artifacts: { mlflow: "artifacts/mlflow/" },
};

describe("npm run backup / restore: arguments", () => {
    it("reads a restore id and options, and refuses what it does not know", () => {
        expect(parseArgs(["restore", "platform-backup-1", "--stack", "local", "--yes"])).toMatchObject({ command: "restore", id: "platform-backup-1", stack: "local", yes: true });
        expect(parseArgs(["backup", "--list", "--dir", "/x"])).toMatchObject({ command: "backup", list: true, dir: "/x", download: true });
        expect(() => parseArgs(["restore", "a", "b"])).toThrow("unknown argument 'b'");
        expect(() => parseArgs(["backup", "--yes"])).toThrow("unknown argument '--yes'");
        expect(() => parseArgs(["restore", "--stack"])).toThrow("--stack needs a value");
    });
});

describe("a backup's manifest", () => {
    it("is read only in the format this version writes, and must name its own backup", () => {
        expect(parseManifest(manifest.id, JSON.stringify(manifest))).toEqual(manifest);
        expect(() => parseManifest(manifest.id, JSON.stringify({ ...manifest, format: 2 }))).toThrow(
            "backup 'platform-backup-29400001': manifest format 2 is not 1, the one this version of the platform reads",
        );
        expect(() => parseManifest("other", JSON.stringify(manifest))).toThrow("backup 'other': its manifest names another backup ('platform-backup-29400001')");
        expect(() => parseManifest(manifest.id, "{")).toThrow("backup 'platform-backup-29400001': manifest.json is not JSON");
        expect(() => parseManifest(manifest.id, JSON.stringify({ ...manifest, databases: [] }))).toThrow("databases");
    });

    it("restores into the same or a newer Postgres major, and only into the MLflow and Airflow versions that wrote it", () => {
        expect(postgresMajor("17.12-trixie")).toBe(17);
        expect(postgresMajor(160004)).toBe(16);
        expect(incompatibilities(manifest, manifest.versions)).toEqual([]);
        expect(incompatibilities(manifest, { ...manifest.versions, postgres: "18.1" })).toEqual([]);
        expect(incompatibilities(manifest, { ...manifest.versions, postgres: "16.6" })).toEqual([
            "it was taken from PostgreSQL 17, and this platform runs PostgreSQL 16 (postgres.image 16.6): a dump restores into the same or a newer major only",
        ]);
        expect(incompatibilities(manifest, { ...manifest.versions, mlflow: "3.6.0-1" })).toEqual([
            "it holds the mlflow database of mlflow 3.5.1-1, and this platform runs mlflow 3.6.0-1: set mlflow.image to the 3.5.1-1 image, 'pulumi up', restore, then upgrade again",
        ]);
    });
});
