export {
  type WorkflowAlarmOptions,
  type WorkflowMonitoringOptions,
  workflowKind,
} from "./monitoring.js";
export {
  SAGA_ERRORS,
  SAGA_EXECUTIONS_RULE,
  type SagaRetry,
  type SagaStep,
  SagaWorkflow,
  type SagaWorkflowProps,
} from "./saga-workflow.js";
