import { describe, expect, it } from "vitest";
import {
  Adam, AdjointOperator, BoxedPenalty, ElasticNet, gridSearch, randomSearch, CenteredOperator, ComposedOperator, DctPlan, DenseMatrix, FftPlan, GradientDescent, HeldOutMse, IdentityOperator, InputError, L1Penalty, L2Penalty,
  LeastSquares, Momentum, OptimState, PathBasis, Perturbation, Random, StackedOperator, TotalVariation, centered, certificate, certify, columnMeans, constrainedCertificate,
  crossValidationFolds, declaredHyperparameters, defaultSolverName, degreesOfFreedom, descendLogLoss, dotTest, fixedPointDerivatives, fixedPointHypergradient, forwardDerivatives,
  holdOutPixels, interceptOf, kktSystem, lambdaMax, penaltyFamily, penaltyOf, penaltyTerms, polishBordered, requireCertifiableScales, runSolver, separablePenalty, sheppLogan,
  solve, solveBasisPursuit, solveCoordinateDescent, spikeTrainProblem, tuningRanges, withPenalty, coordinateDescent,
  ActiveSetMatrix, ActiveSetSystem, BorderedSystem, Dct2Plan, GridDifferences, OPTIMIZERS, SingleSolveObjective, differencesOf, evaluateFold, fastNormalSolver, finishSolution,
  implicitGradient, npyResolverFromBytes, reverseDerivatives, runOptimiser, serialFolds, solverByName, termNames, type Optimiser,
} from "../src/index.js";
import { fileNpyResolver } from "../src/node.js";
import { randomProblem } from "./support.js";

/**
 * Junk arguments to the public API: each call throws an InputError naming the argument, never a
 * TypeError or RangeError from deep inside, and never runs on nonsense.
 */
describe("public entry points refuse junk arguments with an InputError naming the argument", () => {
  const problem = randomProblem(3, 12, 8, { l1Fraction: 0.3 });
  const solution = solve(problem);
  const A = new DenseMatrix(2, 3, new Float64Array([1, 2, 3, 4, 5, 6]));
  const f = new LeastSquares(A, new Float64Array([1, 2]));
  const penalty = penaltyOf(problem);
  const x = new Float64Array(8), nu = new Float64Array(0);
  const loss = (p: number[]) => ({ loss: 1 + p[0] ** 2, gradient: [2 * p[0]] });
  const cases: [string, () => unknown, string][] = [
    // operators
    ["dotTest(null)", () => dotTest(null as never, x, x), "op"],
    ["dotTest(A, null, y)", () => dotTest(A, null as never, new Float64Array(2)), "x"],
    ["dotTest(A, x, wrong length)", () => dotTest(A, new Float64Array(3), new Float64Array(3)), "y"],
    ["centered(null)", () => centered(null as never, x), "A"],
    ["centered(A, null)", () => centered(A, null as never), "means"],
    ["new CenteredOperator({}, means)", () => new CenteredOperator({} as never, x), "A"],
    ["columnMeans(null)", () => columnMeans(null as never), "A"],
    ["columnMeans({})", () => columnMeans({} as never), "A"],
    ["new IdentityOperator(-3)", () => new IdentityOperator(-3), "n"],
    ["new IdentityOperator(0)", () => new IdentityOperator(0), "n"],
    ["new IdentityOperator(1.5)", () => new IdentityOperator(1.5), "n"],
    ["new IdentityOperator(NaN)", () => new IdentityOperator(NaN), "n"],
    ["new IdentityOperator(\"3\")", () => new IdentityOperator("3" as never), "n"],
    ["new AdjointOperator(null)", () => new AdjointOperator(null as never), "base"],
    ["new ComposedOperator(null, A)", () => new ComposedOperator(null as never, A), "outer"],
    ["new ComposedOperator(A, {})", () => new ComposedOperator(A, {} as never), "inner"],
    ["new StackedOperator(null)", () => new StackedOperator(null as never), "operator"],
    ["new StackedOperator([A, {}])", () => new StackedOperator([A, {} as never]), "operator[1]"],
    ["new DenseMatrix(2, 2, undefined)", () => new DenseMatrix(2, 2, undefined as never), "matrix"],
    ["new DenseMatrix(-1, 0, [])", () => new DenseMatrix(-1, 0, new Float64Array(0)), "rows"],
    ["new PathBasis({}, y)", () => new PathBasis({} as never, new Float64Array(2)), "A"],
    ["new FftPlan(1e12)", () => new FftPlan(1e12), "size"],
    ["new DctPlan(1e12)", () => new DctPlan(1e12), "size"],
    // problems, penalties, certificates, KKT
    ["lambdaMax(null)", () => lambdaMax(null as never), "problem"],
    ["lambdaMax({})", () => lambdaMax({} as never), "problem"],
    ["penaltyOf(null)", () => penaltyOf(null as never), "problem"],
    ["penaltyTerms(\"x\")", () => penaltyTerms("x" as never), "problem"],
    ["penaltyFamily(-1)", () => penaltyFamily(-1 as never), "problem"],
    ["declaredHyperparameters(null)", () => declaredHyperparameters(null as never), "problem"],
    ["tuningRanges({})", () => tuningRanges({} as never), "problem"],
    ["separablePenalty(null)", () => separablePenalty(null as never), "penalty"],
    ["new L1Penalty(-1)", () => new L1Penalty(-1), "l1"],
    ["new L1Penalty(NaN)", () => new L1Penalty(NaN), "l1"],
    ["new L2Penalty(\"x\")", () => new L2Penalty("x" as never), "l2"],
    ["new ElasticNet({}, l2)", () => new ElasticNet({} as never, new L2Penalty(1)), "l1Part"],
    ["new ElasticNet(l1, null)", () => new ElasticNet(new L1Penalty(1), null as never), "l2Part"],
    ["new BoxedPenalty(null, bounds)", () => new BoxedPenalty(null as never, { lower: x, upper: x }), "inner"],
    ["gridSearch(null)", () => gridSearch(null as never, problem.penalty, 1, { tol: 1e-6 }), "objective"],
    ["randomSearch(objective, …, undefined)", () => randomSearch({ evaluate: () => 0 } as never, problem.penalty, 1, undefined as never), "options"],
    ["new TotalVariation(-1, D)", () => new TotalVariation(-1, A), "tv"],
    ["new TotalVariation(1, null)", () => new TotalVariation(1, null as never), "D"],
    ["certificate(null)", () => certificate(null as never, x, x, x), "problem"],
    ["certificate(null, …, penalty)", () => certificate(null as never, x, x, x, penalty), "problem"],
    ["certify(undefined)", () => certify(undefined as never, x), "problem"],
    ["constrainedCertificate({})", () => constrainedCertificate({} as never, x, nu, penalty), "problem"],
    ["kktSystem(null)", () => kktSystem(null as never, solution), "problem"],
    ["kktSystem({})", () => kktSystem({} as never, solution), "problem"],
    ["polishBordered(null)", () => polishBordered(null as never, penalty, x, nu), "problem"],
    ["holdOutPixels(null)", () => holdOutPixels(null as never), "problem"],
    ["holdOutPixels(problem, { seed: \"x\" })", () => holdOutPixels(problem, { seed: "x" as never }), "seed"],
    ["interceptOf(null)", () => interceptOf(null as never, x), "problem"],
    ["withPenalty(null)", () => withPenalty(null as never, {}), "problem"],
    ["requireCertifiableScales(null)", () => requireCertifiableScales(null as never), "problem"],
    ["defaultSolverName(null)", () => defaultSolverName(null as never), "problem"],
    ["solveCoordinateDescent(null)", () => solveCoordinateDescent(null as never), "problem"],
    ["solveBasisPursuit(null)", () => solveBasisPursuit(null as never), "problem"],
    ["runSolver(cd, {})", () => runSolver(coordinateDescent, {} as never), "problem"],
    ["degreesOfFreedom(null)", () => degreesOfFreedom(null as never, solution), "problem"],
    ["crossValidationFolds(null)", () => crossValidationFolds(null as never, 5), "problem"],
    ["fixedPointDerivatives(null)", () => fixedPointDerivatives(null as never), "problem"],
    ["fixedPointHypergradient(null)", () => fixedPointHypergradient(null as never, x), "problem"],
    ["new HeldOutMse(null)", () => new HeldOutMse(null as never), "validation.A"],
    ["spikeTrainProblem(null)", () => spikeTrainProblem(null as never), "options"],
    ["new Random(\"x\")", () => new Random("x" as never), "seed"],
    ["new Random(NaN)", () => new Random(NaN), "seed"],
    // images
    ["sheppLogan(1e6)", () => sheppLogan(1e6), "phantom"],
    ["sheppLogan(16, 1e6)", () => sheppLogan(16, 1e6), "phantom"],
    // differentiable optimisers
    ["new OptimState(-1, 0)", () => new OptimState(-1, 0), "n"],
    ["new OptimState(3, -1)", () => new OptimState(3, -1), "auxiliaries"],
    ["new Perturbation(NaN, 0)", () => new Perturbation(NaN, 0), "n"],
    ["new GradientDescent(f, \"0.1\")", () => new GradientDescent(f, "0.1" as never), "schedule"],
    ["new GradientDescent(f, null)", () => new GradientDescent(f, null as never), "schedule"],
    ["new Momentum(f, \"0.1\", 0.5)", () => new Momentum(f, "0.1" as never, 0.5), "schedule"],
    ["new Adam(f, { alpha: \"0.1\" })", () => new Adam(f, { alpha: "0.1" as never }), "alpha"],
    ["forwardDerivatives(null)", () => forwardDerivatives(null as never, x, 3), "optimiser"],
    ["descendLogLoss(null, f)", () => descendLogLoss(null as never, loss), "initial"],
    ["descendLogLoss([NaN], f)", () => descendLogLoss([NaN], loss), "initial"],
    ["descendLogLoss([\"1\"], f)", () => descendLogLoss(["1"] as never, loss), "initial"],
    ["descendLogLoss([1], null)", () => descendLogLoss([1], null as never), "evaluate"],
  ];

  // The advanced exports: KKT systems, tuning objectives, folds, fast solvers, custom optimisers.
  const support = Int32Array.of(0, 1);
  const cd = solverByName("cd");
  const folds = crossValidationFolds(problem, 3);
  const held = new HeldOutMse(folds[0].held);
  const grid = new GridDifferences([8]);
  const normal = fastNormalSolver(new IdentityOperator(8), grid, [8])!;
  normal.setWeights(1, 1, 1);
  const plan = new Dct2Plan(2, 4);
  const gd = new GradientDescent(f, 0.1);
  const x3 = new Float64Array(3);
  const custom = (members: Partial<Record<keyof Optimiser, unknown>>) => ({ ...gd, step: gd.step.bind(gd), tangentStep: gd.tangentStep.bind(gd), adjointUpdate: gd.adjointUpdate.bind(gd), objective: f, hyperparameters: gd.hyperparameters, auxiliaries: 0, ...members }) as never;
  const outer = { evaluate: () => ({ value: 0, gradient: x3 }), project: (t: Float64Array) => t, accept: () => undefined };
  cases.push(
    ["new ActiveSetSystem(null, …)", () => new ActiveSetSystem(null as never, separablePenalty(problem.penalty), x, support), "problem"],
    ["new ActiveSetSystem(problem, {}, …)", () => new ActiveSetSystem(problem, {} as never, x, support), "penalty"],
    ["new ActiveSetSystem(…, x of wrong length, …)", () => new ActiveSetSystem(problem, separablePenalty(problem.penalty), new Float64Array(1), support), "x"],
    ["new ActiveSetSystem(…, support \"x\")", () => new ActiveSetSystem(problem, separablePenalty(problem.penalty), x, "x" as never), "support"],
    ["new ActiveSetSystem(…, support [99])", () => new ActiveSetSystem(problem, separablePenalty(problem.penalty), x, Int32Array.of(99)), "support"],
    ["new ActiveSetMatrix({}, …)", () => new ActiveSetMatrix({} as never, [0], new Float64Array(1)), "A"],
    ["new ActiveSetMatrix(A, null, …)", () => new ActiveSetMatrix(A, null as never, new Float64Array(1)), "support"],
    ["new ActiveSetMatrix(A, [1, 1], …)", () => new ActiveSetMatrix(A, [1, 1], new Float64Array(2)), "support"],
    ["new ActiveSetMatrix(A, [0, 1], [1, 2, 3])", () => new ActiveSetMatrix(A, [0, 1], [1, 2, 3] as never), "curvature"],
    ["new BorderedSystem(\"x\", …)", () => new BorderedSystem("x" as never, separablePenalty(problem.penalty), x, nu, new Int32Array(0), support), "problem"],
    ["new BorderedSystem(problem, null, …)", () => new BorderedSystem(problem, null as never, x, nu, new Int32Array(0), support), "penalty"],
    ["new BorderedSystem(…, x of wrong length, …)", () => new BorderedSystem(problem, separablePenalty(problem.penalty), new Float64Array(2), nu, new Int32Array(0), support), "x"],
    ["new BorderedSystem(…, nu of wrong length, …)", () => new BorderedSystem(problem, separablePenalty(problem.penalty), x, new Float64Array(2), new Int32Array(0), support), "nu"],
    ["new BorderedSystem(…, rows [1,2,3] without constraints, …)", () => new BorderedSystem(problem, separablePenalty(problem.penalty), x, nu, [1, 2, 3] as never, support), "rows"],
    ["new BorderedSystem(…, support {})", () => new BorderedSystem(problem, separablePenalty(problem.penalty), x, nu, new Int32Array(0), {} as never), "support"],
    ["new SingleSolveObjective({}, …)", () => new SingleSolveObjective({} as never, held, cd), "problem"],
    ["new SingleSolveObjective(problem, \"x\", cd)", () => new SingleSolveObjective(problem, "x" as never, cd), "criterion"],
    ["new SingleSolveObjective(problem, criterion, \"cd\")", () => new SingleSolveObjective(problem, held, "cd" as never), "solver"],
    ["evaluateFold(null, …)", () => evaluateFold(null as never, held, cd, problem.penalty, 1e-6, {}, undefined), "fold"],
    ["evaluateFold(fold, {}, …)", () => evaluateFold(folds[0], {} as never, cd, problem.penalty, 1e-6, {}, undefined), "criterion"],
    ["evaluateFold(fold, criterion, null, …)", () => evaluateFold(folds[0], held, null as never, problem.penalty, 1e-6, {}, undefined), "solver"],
    ["evaluateFold(…, penalty \"x\", …)", () => evaluateFold(folds[0], held, cd, "x" as never, 1e-6, {}, undefined), "penalty"],
    ["evaluateFold(…, options undefined, …)", () => evaluateFold(folds[0], held, cd, problem.penalty, 1e-6, undefined as never, undefined), "options"],
    ["evaluateFold(…, warm of wrong length)", () => evaluateFold(folds[0], held, cd, problem.penalty, 1e-6, {}, new Float64Array(1)), "warm"],
    ["withPenalty(problem, \"x\")", () => withPenalty(problem, "x" as never), "penalty"],
    ["serialFolds(\"x\", cd)", () => serialFolds("x" as never, cd), "folds"],
    ["serialFolds([null], cd)", () => serialFolds([null as never], cd), "folds[0]"],
    ["serialFolds(folds, {})", () => serialFolds(folds, {} as never), "solver"],
    ["fastNormalSolver(null, D, grid)", () => fastNormalSolver(null as never, grid, [8]), "A"],
    ["fastNormalSolver(I, D, \"x\")", () => fastNormalSolver(new IdentityOperator(8), grid, "x" as never), "grid"],
    ["fastNormalSolver(…).solve(b of wrong length, out)", () => normal.solve(new Float64Array(9), new Float64Array(9)), "b"],
    ["fastNormalSolver(…).solve([1, 2, 3], out)", () => normal.solve([1, 2, 3] as never, new Float64Array(8)), "b"],
    ["fastNormalSolver(…).solve(b, out of wrong length)", () => normal.solve(new Float64Array(8), new Float64Array(1)), "out"],
    ["Dct2Plan.transformImages(data, \"x\", false)", () => plan.transformImages(new Float64Array(8), "x" as never, false), "images"],
    ["Dct2Plan.transformImages(data, -1, false)", () => plan.transformImages(new Float64Array(8), -1, false), "images"],
    ["Dct2Plan.transformImages(data, 1.5, false)", () => plan.transformImages(new Float64Array(16), 1.5, false), "images"],
    ["Dct2Plan.transformImages(data too short for 2 images)", () => plan.transformImages(new Float64Array(8), 2, false), "data"],
    ["Dct2Plan.forward(F64(1), out)", () => plan.forward(new Float64Array(1), new Float64Array(8)), "image"],
    ["Dct2Plan.inverse(coefficients, F64(1))", () => plan.inverse(new Float64Array(8), new Float64Array(1)), "out"],
    ["forwardDerivatives(custom optimiser without hyperparameters)", () => forwardDerivatives(custom({ hyperparameters: undefined }), x3, 3), "optimiser"],
    ["reverseDerivatives(custom optimiser with hyperparameters \"x\")", () => reverseDerivatives(custom({ hyperparameters: "x" }), x3, 3), "optimiser"],
    ["runOptimiser(custom optimiser with auxiliaries -1)", () => runOptimiser(custom({ auxiliaries: -1 }), x3, 3), "optimiser"],
    ["forwardDerivatives(gd, x, 3, { parameters: \"x\" })", () => forwardDerivatives(gd, x3, 3, { parameters: "x" as never }), "parameters"],
    ...Object.entries(OPTIMIZERS).flatMap(([name, run]): [string, () => unknown, string][] => [
      [`OPTIMIZERS.${name}(null, …)`, () => run(null as never, x3, {} as never), "problem"],
      [`OPTIMIZERS.${name}(outer, [1, 2, 3], …)`, () => run(outer as never, [1, 2, 3] as never, {} as never), "theta0"],
      [`OPTIMIZERS.${name}(outer, theta0, null)`, () => run(outer as never, x3, null as never), "options"],
    ]),
    ["implicitGradient({}, …)", () => implicitGradient({} as never, x, ["l1"], 8), "system"],
    ["implicitGradient(system, gradX of wrong length, …)", () => implicitGradient(kktSystem(problem, solution).system, new Float64Array(1), ["l1"], 8), "gradX"],
    ["finishSolution(null, …)", () => finishSolution(null as never, separablePenalty(problem.penalty), x, { gapTarget: 1e-6 } as never, {}), "problem"],
    ["finishSolution(…, x of wrong length, …)", () => finishSolution(problem, separablePenalty(problem.penalty), new Float64Array(1), { gapTarget: 1e-6 } as never, {}), "x"],
    ["termNames(\"x\")", () => termNames("x" as never), "terms"],
    ["differencesOf(null)", () => differencesOf(null as never), "problem"],
    ["npyResolverFromBytes(\"x\")", () => npyResolverFromBytes("x" as never), "lookup"],
    ["fileNpyResolver.vector(null, …)", () => fileNpyResolver.vector(null as never, ".", "y"), "y"],
  );

  it.each(cases)("%s", (_label, call, field) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect((error as InputError).message).not.toContain("\n");
  });

  it("valid arguments still work", () => {
    expect(new IdentityOperator(1).rows).toBe(1);
    expect(new GradientDescent(f, 0.1).schedule.rate(0)).toBe(0.1);
    expect(descendLogLoss([1], loss, 3).parameters[0]).toBeLessThan(1);
    expect(new FftPlan(2 ** 10).size).toBe(1024);
    expect(sheppLogan(8, 4).data.length).toBe(32);
    expect(lambdaMax(problem)).toBeGreaterThan(0);
  });
});
