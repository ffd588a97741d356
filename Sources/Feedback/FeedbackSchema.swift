internal import GRDB

/// The store's schema as a list of named migrations. Released migrations never change: a new schema
/// appends a migration, so an existing file keeps its data and moves forward on the next open.
enum FeedbackSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try createVersion1(db) }
        // v2 rebuilds tables and copies every row exactly as it is, so it cannot break a reference; it checks
        // none either, so that a reference left dangling by a hand edit of an older file does not stop it opening.
        migrator = migrator.disablingDeferredForeignKeyChecks()
        migrator.registerMigration("v2") { db in try storeFreeTextAsUTF8Blobs(db) }
        migrator.registerMigration("v3") { db in try recordTheKeyOfEachRow(db) }
        migrator.registerMigration("v4") { db in try markPrunedAdapterVersions(db) }
        return migrator
    }

    /// Names of the migrations this build knows, oldest first.
    static var knownMigrations: [String] { migrator.migrations }

    static func createVersion1(_ db: Database) throws {
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

    /// v2: free text becomes UTF-8 BLOBs (see `StoredText`): completion.prompt and .text; preference_pair.prompt,
    /// .chosen, .rejected, .user and .note. In v1 they were TEXT, which GRDB cuts at the first U+0000. SQLite
    /// cannot change a column's type, so both tables are rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter):
    /// every row is copied with `CAST(… AS BLOB)`, which keeps a text's bytes as they are, and keeps its rowid or
    /// `seq`; the AUTOINCREMENT counter of preference_pair carries over, so a sequence number is never reused.
    /// Constraints keep their meaning on bytes: `length(x) > 0` replaces `x <> ''` (a BLOB is never equal to a
    /// TEXT, so `x'' <> ''` would hold), `typeof(x) = 'blob'` refuses a TEXT value that would never compare equal
    /// to the stored BLOBs, and the canonical unique index on (prompt, min(chosen, rejected), max(chosen, rejected))
    /// orders and compares bytes (for UTF-8, the order of code points, as v1's BINARY collation did). PostgreSQL
    /// (issue 24) keeps the same columns as `bytea` with `octet_length(x) > 0` and least()/greatest().
    /// v3: the id of the API key (never the key) that created each completion and preference pair; NULL for rows
    /// stored before, or by an open server.
    static func recordTheKeyOfEachRow(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE completion ADD COLUMN key_id TEXT;
            ALTER TABLE preference_pair ADD COLUMN key_id TEXT;
            """)
    }

    /// v4: whether an adapter version's history file was pruned (`adapters.keep_versions`): its row stays, so its
    /// number is never reused and the completions it served still name it, but it can no longer be served.
    static func markPrunedAdapterVersions(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE adapter_version ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0 CHECK (pruned IN (0, 1));
            """)
    }

    static func storeFreeTextAsUTF8Blobs(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE completion_v2 (
                id TEXT PRIMARY KEY NOT NULL,
                created TEXT NOT NULL,
                model TEXT NOT NULL,
                endpoint TEXT NOT NULL CHECK (endpoint IN ('completions', 'chat')),
                prompt BLOB NOT NULL CHECK (typeof(prompt) = 'blob'),
                text BLOB NOT NULL CHECK (typeof(text) = 'blob'),
                finish_reason TEXT,
                prompt_tokens INTEGER NOT NULL CHECK (prompt_tokens >= 0),
                completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
                tradeoff TEXT,
                adapters TEXT NOT NULL,
                sampling TEXT NOT NULL
            );
            INSERT INTO completion_v2 (rowid, id, created, model, endpoint, prompt, text, finish_reason, prompt_tokens,
                                       completion_tokens, tradeoff, adapters, sampling)
                SELECT rowid, id, created, model, endpoint, CAST(prompt AS BLOB), CAST(text AS BLOB), finish_reason,
                       prompt_tokens, completion_tokens, tradeoff, adapters, sampling
                FROM completion ORDER BY rowid;
            DROP TABLE completion;
            ALTER TABLE completion_v2 RENAME TO completion;
            """)

        let counter = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'preference_pair'")
        try db.execute(sql: """
            CREATE TABLE preference_pair_v2 (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                created TEXT NOT NULL,
                prompt BLOB NOT NULL CHECK (typeof(prompt) = 'blob' AND length(prompt) > 0),
                chosen BLOB NOT NULL CHECK (typeof(chosen) = 'blob' AND length(chosen) > 0),
                rejected BLOB NOT NULL CHECK (typeof(rejected) = 'blob' AND length(rejected) > 0),
                chosen_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
                rejected_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
                labels TEXT NOT NULL,
                "user" BLOB CHECK ("user" IS NULL OR typeof("user") = 'blob'),
                note BLOB CHECK (note IS NULL OR typeof(note) = 'blob'),
                CHECK (chosen <> rejected)
            );
            INSERT INTO preference_pair_v2 (seq, id, created, prompt, chosen, rejected, chosen_id, rejected_id, labels,
                                            "user", note)
                SELECT seq, id, created, CAST(prompt AS BLOB), CAST(chosen AS BLOB), CAST(rejected AS BLOB), chosen_id,
                       rejected_id, labels, CAST("user" AS BLOB), CAST(note AS BLOB)
                FROM preference_pair ORDER BY seq;
            DROP TABLE preference_pair;
            ALTER TABLE preference_pair_v2 RENAME TO preference_pair;
            -- A pair and its mirror image are one preference: the unique key orders the two texts (as bytes).
            CREATE UNIQUE INDEX preference_pair_canonical
                ON preference_pair (prompt, min(chosen, rejected), max(chosen, rejected));
            CREATE INDEX preference_pair_chosen_id ON preference_pair (chosen_id);
            CREATE INDEX preference_pair_rejected_id ON preference_pair (rejected_id);
            """)
        // Dropping the old table dropped its counter; the new one counts from the copied rows. Keep the higher.
        if let counter {
            try db.execute(sql: """
                UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'preference_pair'
                """, arguments: [counter])
            if try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'preference_pair'") == nil {
                try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('preference_pair', ?)", arguments: [counter])
            }
        }
    }
}
