export * from "./labels";
export * from "./pod";
export * from "./probes";
export * from "./resources";
export * from "./security";
export * from "./http-service";
export * from "./data-store";
export * from "./cron-job";
