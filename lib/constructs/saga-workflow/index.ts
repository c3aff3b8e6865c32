export {
  SAGA_ERRORS,
  type SagaRetry,
  type SagaStep,
  SagaWorkflow,
  type SagaWorkflowProps,
} from "./saga-workflow.js";
