import { InputError, NumericalError } from "../errors.js";
import { conjugateGradient } from "../linalg/cg.js";
import { Gmres } from "../linalg/gmres.js";
import { allFinite, dot, norm2Robust, normInf } from "../linalg/vector.js";

/**
 * ∂F/∂θ for one hyperparameter: for a scalar θ a column (length = the number of unknowns); for a
 * per-unknown θ (θ_a for each of the first diagonal.length unknowns) a diagonal:
 * ∂F_a/∂θ_a = diagonal[a], zero otherwise.
 */
export type ParameterJacobian = { shape: "scalar"; column: Float64Array } | { shape: "perFeature"; diagonal: Float64Array };

/**
 * An optimality condition F(z, θ) = 0 at a point (z*, θ) (jaxopt's `custom_root`), through its
 * derivatives there: J = ∂F/∂z as products or as a direct solve, and ∂F/∂θ by name. The KKT
 * systems (kkt/system.ts) and the ODE calibration's ∂G/∂p = 0 (ode/calibration.ts) are instances.
 *
 * Linear solves use, in this order: the instance's own `solve`/`solveAdjoint` (a factorisation);
 * conjugate gradients on `apply` when `symmetric` (J symmetric positive definite); GMRES on
 * `apply` (J z = b) and `applyTranspose` (Jᵀ v = g) otherwise.
 */
export interface OptimalityCondition {
  /** The number of unknowns z (and of equations F). */
  readonly size: number;
  /** out ← J v. */
  apply?(v: Float64Array, out: Float64Array): void;
  /** out ← Jᵀ u (not needed when `symmetric`). */
  applyTranspose?(u: Float64Array, out: Float64Array): void;
  /** J symmetric positive definite: conjugate gradients instead of GMRES, and Jᵀ = J. */
  readonly symmetric?: boolean;
  /** J⁻¹ b, when the instance has a direct solve (a new array). */
  solve?(b: Float64Array): Float64Array;
  /** J⁻ᵀ b, when the instance has a direct solve (a new array). */
  solveAdjoint?(b: Float64Array): Float64Array;
  /** ∂F/∂θ for the hyperparameter `name`, or null when F does not depend on it. */
  parameterJacobian(name: string): ParameterJacobian | null;
}

export interface ImplicitOptions {
  /** Iterative solves stop at ‖b − J z‖ ≤ tol·‖b‖ (default 1e-12). */
  tol?: number;
  /** Cap on the matrix-vector products of one iterative solve (default 10·size + 100). */
  maxIter?: number;
  /** GMRES restart length (default min(size, 50)). */
  restart?: number;
}

/** How one linear solve with J or Jᵀ went. */
export interface SolveReport {
  method: "direct" | "cg" | "gmres";
  /** Matrix-vector products (0 for a direct solve). */
  iterations: number;
  /** ‖b − J z‖/‖b‖ recomputed from the answer with `apply`; null for a direct solve without `apply`. */
  residual: number | null;
}

export interface ImplicitJacobian {
  /**
   * dz/dθ = −J⁻¹ ∂F/∂θ by name: length size for a scalar θ; for a per-unknown θ the size × k
   * Jacobian, column-major (column a = dz/dθ_a). Zero when F does not depend on θ.
   */
  derivatives: Record<string, Float64Array>;
  /** One report per solve, in the order of the names (and of the columns). */
  solves: SolveReport[];
}

export interface ImplicitAdjoint {
  /** dL/dθ = −vᵀ ∂F/∂θ with Jᵀv = ∇_z L, by name: a number, or one entry per unknown for a per-unknown θ. */
  gradient: Record<string, number | Float64Array>;
  /** The adjoint vector v (length size). */
  adjoint: Float64Array;
  solve: SolveReport;
}

/**
 * Forward mode: dz/dθ = −J⁻¹ ∂F/∂θ for each hyperparameter in `names` (one solve per scalar θ,
 * one per entry of a per-unknown θ). Differentiating F(z(θ), θ) = 0 gives J dz/dθ + ∂F/∂θ = 0.
 */
export function implicitJacobian(condition: OptimalityCondition, names: readonly string[], options: ImplicitOptions = {}): ImplicitJacobian {
  const solver = new LinearSolver(condition, options);
  checkNames(names);
  const n = condition.size;
  const derivatives: Record<string, Float64Array> = {};
  const solves: SolveReport[] = [];
  const dz = (column: Float64Array, out: Float64Array) => {
    const { z, report } = solver.solve(column, false);
    for (let i = 0; i < n; i++) out[i] = -z[i];
    solves.push(report);
  };
  for (const name of names) {
    const jac = checkedJacobian(condition, name);
    if (jac === null) {
      derivatives[name] = new Float64Array(n);
    } else if (jac.shape === "scalar") {
      dz(jac.column, (derivatives[name] = new Float64Array(n)));
    } else {
      const k = jac.diagonal.length, out = (derivatives[name] = new Float64Array(n * k)), e = new Float64Array(n);
      for (let a = 0; a < k; a++) {
        e[a] = jac.diagonal[a];
        dz(e, out.subarray(a * n, (a + 1) * n));
        e[a] = 0;
      }
    }
  }
  return { derivatives, solves };
}

/**
 * Reverse mode: one adjoint solve Jᵀv = ∇_z L, then dL/dθ = −vᵀ ∂F/∂θ for every θ in `names`
 * (a per-unknown θ gives −v_a·diagonal[a]). Add ∂L/∂θ when L also depends on θ directly.
 */
export function implicitAdjoint(condition: OptimalityCondition, gradZ: Float64Array, names: readonly string[], options: ImplicitOptions = {}): ImplicitAdjoint {
  const solver = new LinearSolver(condition, options);
  checkNames(names);
  if (!(gradZ instanceof Float64Array) || gradZ.length !== condition.size || !allFinite(gradZ)) {
    throw new InputError("gradZ", `expected a Float64Array of ${condition.size} finite numbers (∇_z L at the solution)`);
  }
  const { z: v, report } = solver.solve(gradZ, true);
  const gradient: Record<string, number | Float64Array> = {};
  for (const name of names) {
    const jac = checkedJacobian(condition, name);
    if (jac === null) gradient[name] = 0;
    else if (jac.shape === "scalar") gradient[name] = 0 - dot(v, jac.column); // +0, not −0, on an empty system
    else gradient[name] = jac.diagonal.map((d, a) => -v[a] * d);
  }
  return { gradient, adjoint: v, solve: report };
}

/** Solves with J or Jᵀ by the route the condition offers, with their honest residuals. */
class LinearSolver {
  private readonly tol: number;
  private readonly maxIter: number | undefined;
  private gmres: Gmres | null = null;
  private readonly check: Float64Array;
  private readonly scaled: Float64Array;

  constructor(private readonly condition: OptimalityCondition, options: ImplicitOptions) {
    if (typeof condition !== "object" || condition === null) throw new InputError("condition", "expected an optimality condition { size, apply or solve, parameterJacobian }");
    const n = condition.size;
    if (!Number.isInteger(n) || n < 0) throw new InputError("condition.size", `expected a non-negative integer, got ${n}`);
    if (typeof condition.parameterJacobian !== "function") throw new InputError("condition.parameterJacobian", "expected a function (name) => ∂F/∂θ or null");
    if (typeof condition.solve !== "function" && typeof condition.apply !== "function") throw new InputError("condition.apply", "expected apply(v, out) (J v) or a direct solve(b)");
    if (typeof options !== "object" || options === null) throw new InputError("options", "expected an object { tol, maxIter, restart }");
    const { tol = 1e-12, maxIter, restart } = options;
    if (typeof tol !== "number" || !(tol > 0 && tol < 1)) throw new InputError("options.tol", `expected a number in (0, 1), got ${tol}`);
    if (maxIter !== undefined && !(Number.isInteger(maxIter) && maxIter > 0)) throw new InputError("options.maxIter", `expected a positive integer, got ${maxIter}`);
    if (restart !== undefined && !(Number.isInteger(restart) && restart > 0)) throw new InputError("options.restart", `expected a positive integer, got ${restart}`);
    this.tol = tol;
    this.maxIter = maxIter;
    if (restart !== undefined) this.gmres = new Gmres(n, restart);
    this.check = new Float64Array(n);
    this.scaled = new Float64Array(n);
  }

  /** J⁻¹b (or J⁻ᵀb when `adjoint`). */
  solve(b: Float64Array, adjoint: boolean): { z: Float64Array; report: SolveReport } {
    const c = this.condition;
    const direct = adjoint ? c.solveAdjoint : c.solve;
    if (typeof direct === "function") {
      const z = direct.call(c, b);
      return { z, report: { method: "direct", iterations: 0, residual: this.residual(b, z, adjoint) } };
    }
    const apply = this.product(adjoint);
    // solve for b/‖b‖ and scale back: the iterations' squared norms stay far from under- and overflow
    const bNorm = norm2Robust(b);
    const unit = bNorm > 0 ? b.map((v) => v / bNorm) : b;
    let z: Float64Array, method: SolveReport["method"], iterations: number;
    if (c.symmetric) {
      const cg = conjugateGradient(apply, unit, { tol: this.tol, ...(this.maxIter !== undefined && { maxIter: this.maxIter }) });
      ({ x: z, iterations } = cg);
      method = "cg";
    } else {
      z = new Float64Array(c.size);
      this.gmres ??= new Gmres(c.size);
      ({ iterations } = this.gmres.solve(apply, unit, z, { tol: this.tol, ...(this.maxIter !== undefined && { maxIter: this.maxIter }) }));
      method = "gmres";
    }
    const residual = this.residual(unit, z, adjoint)!; // before scaling back: z may leave the normal range
    if (bNorm > 0) for (let i = 0; i < z.length; i++) z[i] *= bNorm;
    if (!(residual <= this.tol)) {
      throw new NumericalError(`${method} on ${adjoint ? "Jᵀ" : "J"} (∂F/∂z) stopped at relative residual ${residual.toExponential(2)} > tol ${this.tol} after ${iterations} products: J may be singular; raise options.maxIter or loosen options.tol`);
    }
    return { z, report: { method, iterations, residual } };
  }

  /** out ← J v or Jᵀ v. */
  private product(adjoint: boolean): (v: Float64Array, out: Float64Array) => void {
    const c = this.condition;
    if (!adjoint || c.symmetric) return (v, out) => c.apply!(v, out);
    if (typeof c.applyTranspose !== "function") throw new InputError("condition.applyTranspose", "expected applyTranspose(u, out) (Jᵀ u) for the adjoint of a non-symmetric J, or solveAdjoint(b)");
    return (v, out) => c.applyTranspose!(v, out);
  }

  /**
   * ‖b − J z‖/‖b‖ (Jᵀ when adjoint), recomputed as ‖b/β − J(z/β)‖ with β = ‖b‖ (the same number,
   * without under- or overflow at extreme scales); null when there is no product to check with.
   */
  private residual(b: Float64Array, z: Float64Array, adjoint: boolean): number | null {
    const c = this.condition;
    if (typeof c.apply !== "function" || (adjoint && !c.symmetric && typeof c.applyTranspose !== "function")) return null;
    const beta = norm2Robust(b);
    if (beta === 0) return normInf(z) === 0 ? 0 : Infinity;
    const { scaled, check } = this;
    for (let i = 0; i < z.length; i++) scaled[i] = z[i] / beta;
    this.product(adjoint)(scaled, check);
    for (let i = 0; i < b.length; i++) check[i] = b[i] / beta - check[i];
    return norm2Robust(check);
  }
}

function checkNames(names: readonly string[]): void {
  if (!Array.isArray(names) || !names.every((name) => typeof name === "string")) throw new InputError("names", "expected an array of hyperparameter names");
}

function checkedJacobian(condition: OptimalityCondition, name: string): ParameterJacobian | null {
  const jac = condition.parameterJacobian(name);
  if (jac === null) return null;
  const n = condition.size;
  if (jac.shape === "scalar" ? !(jac.column instanceof Float64Array && jac.column.length === n) : !(jac.diagonal instanceof Float64Array && jac.diagonal.length <= n)) {
    throw new InputError(`parameterJacobian(${name})`, `expected a column of length ${n} or a diagonal of at most ${n} entries`);
  }
  return jac;
}
