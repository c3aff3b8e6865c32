export { CALLBACK_REJECTED } from "./contract.js";
export {
  type WorkflowAlarmOptions,
  type WorkflowMonitoringOptions,
  workflowKind,
} from "./monitoring.js";
export { SAGA_ERRORS } from "./saga-definition.js";
export { SAGA_EXECUTIONS_RULE, SagaWorkflow } from "./saga-workflow.js";
export type { SagaRetry, SagaStep, SagaWorkflowProps } from "./saga-workflow-props.js";
