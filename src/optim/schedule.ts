import { InputError } from "../errors.js";

/**
 * The step size η_t of step t as a function of named parameters θ: the optimisers differentiate
 * through it, so a schedule's parameters are hyperparameters like the method's own.
 */
export interface RateSchedule {
  readonly names: readonly string[];
  rate(t: number): number;
  /** ∂η_t/∂θ_p */
  rateDerivative(t: number, p: number): number;
}

export function requirePositiveRate(field: string, rate: number): void {
  if (!Number.isFinite(rate) || rate <= 0) throw new InputError(field, `expected a finite number > 0, got ${rate}`);
}

/** A rate schedule, or a number taken as the constant rate `name` (numeric strings are not numbers). */
export function toSchedule(field: string, schedule: RateSchedule | number, name = "eta"): RateSchedule {
  if (typeof schedule === "number") return constantRate(schedule, name);
  const s = schedule as Partial<RateSchedule> | null;
  if (!Array.isArray(s?.names) || typeof s.rate !== "function" || typeof s.rateDerivative !== "function") {
    throw new InputError(field, `expected a number > 0 or a rate schedule { names, rate, rateDerivative }, got ${typeof schedule === "string" ? JSON.stringify(schedule) : s === null ? "null" : typeof s}`);
  }
  return schedule;
}

/** η_t = η for every t. */
export function constantRate(rate: number, name = "eta"): RateSchedule {
  requirePositiveRate(name, rate);
  return { names: [name], rate: () => rate, rateDerivative: () => 1 };
}

/**
 * η_t = e^{θ0}/(1 + t·e^{θ1}) (inverse-time decay, positive for any real θ):
 * ∂η_t/∂θ0 = η_t,  ∂η_t/∂θ1 = −η_t·t·e^{θ1}/(1 + t·e^{θ1}).
 */
export function inverseTimeSchedule(theta0: number, theta1: number): RateSchedule {
  for (const [name, v] of [["theta0", theta0], ["theta1", theta1]] as const) if (!Number.isFinite(v)) throw new InputError(name, `expected a finite number, got ${v}`);
  const scale = Math.exp(theta0), decay = Math.exp(theta1);
  if (!(scale > 0 && Number.isFinite(scale))) throw new InputError("theta0", `expected e^theta0 to be a positive finite number, got theta0 = ${theta0}`);
  if (!Number.isFinite(decay)) throw new InputError("theta1", `expected e^theta1 to be finite, got theta1 = ${theta1}`);
  const rate = (t: number) => scale / (1 + t * decay);
  return {
    names: ["theta0", "theta1"],
    rate,
    rateDerivative: (t, p) => (p === 0 ? rate(t) : (-rate(t) * t * decay) / (1 + t * decay)),
  };
}

/** A constant rate the caller may change between steps (hypergradient descent adapts it online). */
export class AdaptiveRate implements RateSchedule {
  readonly names: readonly string[];

  constructor(
    public value: number,
    name = "eta",
  ) {
    requirePositiveRate(name, value);
    this.names = [name];
  }

  rate(): number {
    return this.value;
  }

  rateDerivative(): number {
    return 1;
  }
}
