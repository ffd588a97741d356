internal import GRDB

/// The store's schema as a list of named migrations. Released migrations never change: a new schema
/// appends a migration, so an existing file keeps its data and moves forward on the next open.
enum FeedbackSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try createVersion1(db) }
        return migrator
    }

    /// Names of the migrations this build knows, oldest first.
    static var knownMigrations: [String] { migrator.migrations }

    private static func createVersion1(_ db: Database) throws {
        // Dates are GRDB's "yyyy-MM-dd HH:mm:ss.SSS" UTC text; JSON columns hold compact JSON text.
        try db.execute(sql: """
            CREATE TABLE completion (
                id TEXT PRIMARY KEY NOT NULL,
                created TEXT NOT NULL,
                model TEXT NOT NULL,
                endpoint TEXT NOT NULL CHECK (endpoint IN ('completions', 'chat')),
                prompt TEXT NOT NULL,
                text TEXT NOT NULL,
                finish_reason TEXT,
                prompt_tokens INTEGER NOT NULL CHECK (prompt_tokens >= 0),
                completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
                tradeoff TEXT,
                adapters TEXT NOT NULL,
                sampling TEXT NOT NULL
            );

            CREATE TABLE preference_pair (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL,
                prompt TEXT NOT NULL CHECK (prompt <> ''),
                chosen TEXT NOT NULL CHECK (chosen <> ''),
                rejected TEXT NOT NULL CHECK (rejected <> ''),
                chosen_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
                rejected_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
                labels TEXT NOT NULL,
                "user" TEXT,
                note TEXT,
                CHECK (chosen <> rejected)
            );
            -- A pair and its mirror image are one preference: the unique key orders the two texts.
            CREATE UNIQUE INDEX preference_pair_canonical
                ON preference_pair (prompt, min(chosen, rejected), max(chosen, rejected));
            CREATE INDEX preference_pair_chosen_id ON preference_pair (chosen_id);
            CREATE INDEX preference_pair_rejected_id ON preference_pair (rejected_id);

            CREATE TABLE realign_job (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
                created TEXT NOT NULL,
                started TEXT,
                finished TEXT,
                request TEXT NOT NULL,
                progress TEXT,
                report TEXT,
                error TEXT,
                pairs_used INTEGER,
                feedback_through_seq INTEGER
            );
            -- At most one queued or running job: the indexed expression is the same value for all such rows.
            CREATE UNIQUE INDEX realign_job_one_active
                ON realign_job ((state IN ('queued', 'running'))) WHERE state IN ('queued', 'running');

            CREATE TABLE adapter_version (
                name TEXT NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                objectives TEXT NOT NULL,
                weights TEXT NOT NULL,
                method TEXT NOT NULL,
                job_id TEXT REFERENCES realign_job(id),
                created TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
                PRIMARY KEY (name, version)
            );
            CREATE UNIQUE INDEX adapter_version_one_active ON adapter_version (name) WHERE active = 1;
            CREATE INDEX adapter_version_job ON adapter_version (job_id);
            """)
    }
}
