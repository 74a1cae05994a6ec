export { startReplayProjection, rebuildReplayProjection, DEFAULT_REPLAY_SCHEMA } from './projection.ts';
export { replayProjection, REPLAY_TOPICS } from './tables.ts';
export { replayRoutes, TranscriptSchema } from './routes.ts';
export { buildTranscript, renderPsql, renderCast, psqlTable, decisionLine, type Transcript, type TranscriptEntry } from './transcript.ts';
export { transcriptRows, type TranscriptEventRow } from './rows.ts';
