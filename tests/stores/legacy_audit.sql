-- An audit log as the code before audit keys (issue 10) wrote it: the first schema, a SHA-256 chain,
-- no MAC, no meta table. Rows 1..3 of a log written by that code (its append-only triggers re-added).
BEGIN;
CREATE TABLE "audit_events" (
   "seq" INTEGER PRIMARY KEY,
   "event_id" TEXT NOT NULL,
   "timestamp" TEXT NOT NULL,
   "node" TEXT,
   "kind" TEXT,
   "decision" TEXT,
   "reason_code" TEXT,
   "policy_id" TEXT,
   "detail" TEXT,
   "thread_id" TEXT,
   "run_id" TEXT,
   "user_id" TEXT,
   "session_id" TEXT,
   "tenant" TEXT,
   "step" INTEGER,
   "tool_name" TEXT,
   "tool_call_id" TEXT,
   "input" TEXT,
   "redacted_paths" TEXT,
   "result_summary" TEXT,
   "cost_usd" REAL,
   "tokens_in" INTEGER,
   "tokens_out" INTEGER,
   "latency_ms" REAL,
   "success" INTEGER,
   "error" TEXT,
   "retry_count" INTEGER,
   "breaker_state" TEXT,
   "approver_id" TEXT,
   "prev_hash" TEXT,
   "hash" TEXT NOT NULL
);
INSERT INTO "audit_events" VALUES(1,'e-0','2026-01-01T00:00:00+00:00','n','k','allow',NULL,NULL,'event 0',NULL,NULL,NULL,NULL,NULL,0,NULL,NULL,'{"i": 0}','[]',NULL,0.0,0,0,NULL,NULL,NULL,0,NULL,NULL,'0000000000000000000000000000000000000000000000000000000000000000','a2d93e63cb2849de38c9f514a7561d64aaa03b789d49419e57de68253072b2d3');
INSERT INTO "audit_events" VALUES(2,'e-1','2026-01-01T00:00:01+00:00','n','k','allow',NULL,NULL,'event 1',NULL,NULL,NULL,NULL,NULL,1,NULL,NULL,'{"i": 1}','[]',NULL,0.0,0,0,NULL,NULL,NULL,0,NULL,NULL,'a2d93e63cb2849de38c9f514a7561d64aaa03b789d49419e57de68253072b2d3','54fb2e74b2953432e0ad46fa17b80afc6447426c1f46d9617472803715d00a67');
INSERT INTO "audit_events" VALUES(3,'e-2','2026-01-01T00:00:02+00:00','n','k','allow',NULL,NULL,'event 2',NULL,NULL,NULL,NULL,NULL,2,NULL,NULL,'{"i": 2}','[]',NULL,0.0,0,0,NULL,NULL,NULL,0,NULL,NULL,'54fb2e74b2953432e0ad46fa17b80afc6447426c1f46d9617472803715d00a67','fe9a38e3db20b273e41ac778fc11529c4b42eddffdf5ecc79beb0d2630a007bc');
CREATE UNIQUE INDEX "idx_audit_events_event_id"
    ON "audit_events" ("event_id");
CREATE INDEX "idx_audit_events_thread_id"
    ON "audit_events" ("thread_id");
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
COMMIT;
