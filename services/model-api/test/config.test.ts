import { describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig } from "../src/config";

describe("loadConfig", () => {
    it("applies the defaults", () => {
        const c = loadConfig({ MLFLOW_TRACKING_URI: "http://mlflow:5000" });
        expect(c.port).toBe(8989);
        expect(c.modelName).toBe("realtor-price");
        expect(c.modelAlias).toBe("production");
        expect(c.pollIntervalMs).toBe(DEFAULTS.MODEL_POLL_INTERVAL_SECONDS * 1000);
        expect(c.maxBatchSize).toBe(1000);
        expect(c.databaseUrl).toBeUndefined();
        expect(Object.isFrozen(c)).toBe(true);
    });
    it("reports every problem in one message naming the variables", () => {
        expect(() => loadConfig({ PORT: "-1", MAX_BATCH_SIZE: "ten", MODEL_POLL_INTERVAL_SECONDS: "0.5" })).toThrow(
            "Invalid model-api configuration (3 problems):\n" +
                "  - 'MLFLOW_TRACKING_URI' is required (or set 'MODEL_PATH' to serve a local model)\n" +
                "  - 'PORT' must be an integer >= 0 (got '-1')\n" +
                "  - 'MAX_BATCH_SIZE' must be an integer >= 1 (got 'ten')",
        );
    });
    it("accepts a local model instead of MLflow, and fractional poll seconds", () => {
        const c = loadConfig({ MODEL_PATH: "/models/x", MODEL_POLL_INTERVAL_SECONDS: "0.5" });
        expect(c.modelPath).toBe("/models/x");
        expect(c.pollIntervalMs).toBe(500);
    });
    it("migrates the inference log before its first write unless INFERENCE_LOG_MIGRATE is false", () => {
        expect(loadConfig({ MODEL_PATH: "/m" }).logMigrate).toBe(true);
        expect(loadConfig({ MODEL_PATH: "/m", INFERENCE_LOG_MIGRATE: "false" }).logMigrate).toBe(false);
        expect(loadConfig({ MODEL_PATH: "/m", INFERENCE_LOG_MIGRATE: "true" }).logMigrate).toBe(true);
        expect(() => loadConfig({ MODEL_PATH: "/m", INFERENCE_LOG_MIGRATE: "no" })).toThrow("'INFERENCE_LOG_MIGRATE' must be 'true' or 'false' (got 'no')");
    });
    it("rejects a non-http tracking URI", () => {
        expect(() => loadConfig({ MLFLOW_TRACKING_URI: "mlflow:5000" })).toThrow("'MLFLOW_TRACKING_URI' must be an http(s) URL (got 'mlflow:5000')");
    });
});
