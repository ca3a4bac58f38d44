export { InputError, NumericalError } from "./errors.js";
export { createProblem, withPenalty, interceptOf, requirePositivePenalty, requireCertifiableScales, type Problem, type ProblemInput, type Penalty, type Measurements, type OperatorInput, type VectorInput } from "./problem.js";
export type { NdArrayLike } from "./operators/from-ndarray.js";
export { hasColumns, type LinearOperator, type ColumnOperator } from "./operators/operator.js";
export { ComposedOperator, AdjointOperator, StackedOperator } from "./operators/combinators.js";
export { DenseMatrix, type DenseInput, type MatrixLike } from "./operators/dense.js";
export { IdentityOperator } from "./operators/identity.js";
export { CenteredOperator, CenteredColumnOperator, centered, columnMeans } from "./operators/centered.js";
export { dotTest } from "./operators/dot-test.js";
export { GridDifferences, differencesOf } from "./operators/finite-differences.js";
export {
  ElasticNet, L1Penalty, L2Penalty, TotalVariation, penaltyOf, penaltyTerms, termNames, penaltyFamily, separablePenalty, declaredHyperparameters, lambdaMax, tuningRanges,
  type SeparablePenalty, type HyperparameterSpec, type TuningRange, type PenaltyTerms,
} from "./penalties/index.js";
export { solve, solverByName, defaultSolverName, SOLVERS, ITERATIVE_SOLVERS, type SolverName, type Solver } from "./solvers/index.js";
export { runSolver, finishSolution } from "./solvers/driver.js";
export type { IterativeSolver, SolverCapabilities, StepOptions, StopTest } from "./solvers/protocol.js";
export { solveCoordinateDescent, coordinateDescent, type CdState } from "./solvers/coordinate-descent.js";
export { solveFista, fista, type FistaState, type FistaOptions } from "./solvers/fista.js";
export { solveSplitBregman, splitBregman, splitBregmanDual, type SplitBregmanState, type SplitBregmanOptions, type NormalSolver, type NormalStrategy } from "./solvers/split-bregman.js";
export { solvePath, lambdaGrid, type PathOptions } from "./solvers/path.js";
export { lassoPath, PathBasis, type LassoPath, type PathPiece, type PathMinimiser, type LassoPathOptions } from "./solvers/homotopy.js";
export { solveBasisPursuit, type BasisPursuitOptions } from "./solvers/basis-pursuit.js";
export type { Solution, SolveOptions, StructurePart, ActiveBounds } from "./solvers/solution.js";
export { certificate, certify, constrainedCertificate, type Certificate } from "./kkt/certificate.js";
export { augmentedLagrangian, type AlmState } from "./solvers/augmented-lagrangian.js";
export { BorderedSystem, polishBordered } from "./kkt/bordered.js";
export { BoxedPenalty, type Bounds } from "./penalties/box.js";
export { ActiveSetSystem, ActiveSetMatrix } from "./kkt/active-set.js";
export { kktSystem, type KktSystem, type KktMethod, type ParameterJacobian } from "./kkt/index.js";
export { implicitGradient, implicitHypergradient, tryImplicitHypergradient, hypergradient, solutionDerivatives, type Hypergradient, type HyperGradient } from "./diff/implicit.js";
export { implicitJacobian, implicitAdjoint, type OptimalityCondition, type ImplicitOptions, type ImplicitJacobian, type ImplicitAdjoint, type SolveReport } from "./diff/optimality.js";
export { Gmres, type GmresResult } from "./linalg/gmres.js";
export { DrivenDecayOde, type Observations, type ParameterGradient } from "./ode/driven-decay.js";
export { OdeCalibration, type Misfit, type CalibrationHypergradient, type CalibrationRun } from "./ode/calibration.js";
export { fixedPointHypergradient, fixedPointDerivatives, type FixedPointOptions, type FixedPointHypergradient, type FixedPointDerivatives, type FixedPointParameter } from "./diff/fixed-point.js";
export { unrolledForward, unrolledReverse, unrolledValue, UNROLLED_SOLVERS, type UnrolledOptions, type UnrolledHypergradient, type UnrolledSolverName } from "./diff/unrolled.js";
export type { Criterion } from "./criteria/criterion.js";
export { HeldOutMse } from "./criteria/heldout.js";
export { parseProblemDocument, npyResolverFromBytes, PROBLEM_FORMAT, type NpyResolver } from "./io/problem-document.js";
export { parseNpy, parseNpyMatrix, parseNpyVector, encodeNpy, type NpyData, type NpyBytes, type NpyParseOptions } from "./io/npy-format.js";
export { spikeTrainProblem, type SpikeTrainOptions } from "./problems/spike-train.js";
export { tune, CRITERIA, type TuneOptions, type TuningReport, type TuneEvent, type TrajectoryPoint, type CriterionName } from "./tune/tune.js";
export { gridSearch, randomSearch, type BaselineResult, type BaselinePoint } from "./tune/baselines.js";
export { SingleSolveObjective } from "./tune/single-solve.js";
export type { TuningObjective, Evaluation, EvaluateOptions, TunableKey } from "./tune/objective.js";
export { OPTIMIZERS, type OptimizerName, type OuterOptimizer } from "./tune/optimizers.js";
export { CrossValidation, foldRows, crossValidationFolds, serialFolds, evaluateFold, type CvFold, type FoldEvaluator, type FoldResult } from "./criteria/cross-validation.js";
export { Sure, MonteCarloSure, degreesOfFreedom } from "./criteria/sure.js";
export type { CoordinateDescentOptions, CoordinateDescentProgress } from "./solvers/coordinate-descent.js";

// ── Imaging: fast transforms, imaging operators, the DCT normal-equation solver, grey images and PNG bytes ──
export { FftPlan } from "./transforms/fft.js";
export { DctPlan, Dct2Plan } from "./transforms/dct.js";
export { ConvolutionOperator, type ConvolutionOptions } from "./operators/convolution.js";
export { MaskOperator } from "./operators/mask.js";
export { SubsampledDctOperator, randomDctIndices } from "./operators/subsampled-dct.js";
export { fastNormalSolver, type FastNormalSolver } from "./operators/normal-equations.js";
export { gaussianKernel, type Kernel } from "./imaging/gaussian.js";
export { imageFromNdarray, imageToNdarray, psnr, quantise, sideBySide, type GreyImage } from "./imaging/image.js";
export { decodePng, encodePng, type PngImage } from "./io/png-format.js";

// ── Images: self-tuning TV reconstruction, held-out pixels, the Shepp–Logan phantom ──
export { denoiseImage, deblurImage, inpaintImage, type ImageCriterion, type ImageReconstruction, type ReconstructOptions, type SolutionSummary } from "./imaging/reconstruct.js";
export { holdOutPixels, type HeldOutSplit, type HoldOutOptions } from "./criteria/heldout-pixels.js";
export { sheppLogan, MODIFIED_SHEPP_LOGAN } from "./problems/shepp-logan.js";
export { Random } from "./linalg/random.js";

// ── Differentiable optimisers: smooth objectives, GD / momentum / Adam with forward and reverse derivatives, hypergradient descent, the worked examples ──
export { DivergenceError } from "./errors.js";
export { valueOf, type SmoothObjective } from "./optim/objective.js";
export { LeastSquares, ridge } from "./optim/least-squares.js";
export { LogisticRegression } from "./optim/logistic.js";
export { SmoothedTotalVariation } from "./optim/smoothed-tv.js";
export { constantRate, inverseTimeSchedule, AdaptiveRate, type RateSchedule } from "./optim/schedule.js";
export { OptimState, Perturbation, type Optimiser } from "./optim/optimiser.js";
export { GradientDescent } from "./optim/gradient-descent.js";
export { Momentum } from "./optim/momentum.js";
export { Adam, type AdamParameters } from "./optim/adam.js";
export {
  runOptimiser, forwardDerivatives, reverseDerivatives,
  type RunOptions, type OptimiserRun, type OptimiserDerivatives, type ForwardOptions, type ReverseOptions, type ReverseDerivatives,
} from "./optim/differentiate.js";
export { hypergradientDescent, type HypergradientMethod, type HypergradientDescentOptions, type HypergradientDescentRun } from "./optim/hypergradient-descent.js";
export { learnSchedule, learnMomentum, descendLogLoss, type OuterOptions, type OuterRun, type LearnedSchedule, type LearnedMomentum } from "./optim/learn.js";
export { EXAMPLES, type Example, type ExampleResult, type DerivativeCheck } from "./problems/examples.js";
