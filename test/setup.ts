import fc from "fast-check";

// Properties run on a fixed seed so that CI is reproducible; FC_SEED=<n> explores other samples.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261127) });
