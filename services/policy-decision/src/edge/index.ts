export { createEdgeGate, type EdgeGate, type EdgeGateOptions } from './edge-gate.ts';
export { connectCommandGate, type DecisionMode, type GateConnection } from './connect-gate.ts';
