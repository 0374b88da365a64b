export { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from './codec.ts';
export * from './commands.ts';
export {
  Controller,
  type ControllerOptions,
  type CreateTopicOptions,
  type CreateTopicRequest,
} from './controller.ts';
export * from './errors.ts';
export { CONTROLLER_GROUP_ID, ControllerLimits } from './limits.ts';
export * from './membership-source.ts';
export * from './metadata.ts';
export {
  ControllerReconciler,
  type ControllerReconcilerOptions,
  type PassResult,
  type ReconcilerStats,
} from './reconciler.ts';
export * from './results.ts';
export {
  ControllerStateMachine,
  type ControllerStateMachineOptions,
  type MetadataChange,
  SNAPSHOT_FORMAT_VERSION,
} from './state-machine.ts';
export { CONTROLLER_VOTERS_MAX, controllerVoters } from './voters.ts';
