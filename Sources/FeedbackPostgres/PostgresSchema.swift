import Feedback
import Foundation
import Logging
import PostgresNIO

/// The schema as named migrations, the same names as the SQLite store's (`FeedbackSchema`), recorded in the
/// table `raconteur_migrations`. Released migrations never change; a new one is appended here and in
/// FeedbackSchema.swift under the same name. Differences from SQLite, by design:
/// - free text is `bytea` (UTF-8, byte for byte, U+0000 included; `StoredText`), compared as bytes as BLOBs are;
/// - the canonical pair index covers SHA-256 digests of the texts rather than the texts, because a B-tree entry
///   is limited to about a third of a page (2.7 kB; "B-Tree Indexes" in the manual) and answers can be longer; the
///   duplicate check still compares the bytes themselves;
/// - dates are `timestamptz(3)` (millisecond precision, as SQLite's date text), labels `jsonb` (for filtering),
///   other JSON columns `text` (jsonb cannot hold the escape \u0000 that a sampling parameter may contain);
/// - sequence numbers are identity columns, never reused, like SQLite's AUTOINCREMENT.
enum PostgresSchema {
    static let migrations: [(name: String, sql: String)] = [("v1", version1), ("v2", version2), ("v3", version3),
                                                                     ("v4", version4)]
    static var knownMigrations: [String] { migrations.map(\.name) }

    static let migrationsTable = "raconteur_migrations"

    static let version1 = """
        CREATE TABLE completion (
            id TEXT PRIMARY KEY NOT NULL,
            created TIMESTAMPTZ(3) NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL CHECK (endpoint IN ('completions', 'chat')),
            prompt TEXT NOT NULL,
            text TEXT NOT NULL,
            finish_reason TEXT,
            prompt_tokens BIGINT NOT NULL CHECK (prompt_tokens >= 0),
            completion_tokens BIGINT NOT NULL CHECK (completion_tokens >= 0),
            tradeoff TEXT,
            adapters TEXT NOT NULL,
            sampling TEXT NOT NULL
        );

        CREATE TABLE preference_pair (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            created TIMESTAMPTZ(3) NOT NULL,
            prompt TEXT NOT NULL CONSTRAINT preference_pair_prompt_check CHECK (prompt <> ''),
            chosen TEXT NOT NULL CONSTRAINT preference_pair_chosen_check CHECK (chosen <> ''),
            rejected TEXT NOT NULL CONSTRAINT preference_pair_rejected_check CHECK (rejected <> ''),
            chosen_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
            rejected_id TEXT REFERENCES completion(id) ON DELETE SET NULL,
            labels JSONB NOT NULL,
            "user" TEXT,
            note TEXT,
            CONSTRAINT preference_pair_texts_differ CHECK (chosen <> rejected)
        );
        -- A pair and its mirror image are one preference: the unique key orders the two texts (bytewise: "C").
        CREATE UNIQUE INDEX preference_pair_canonical ON preference_pair (
            md5(prompt), md5(least(chosen COLLATE "C", rejected COLLATE "C")), md5(greatest(chosen COLLATE "C", rejected COLLATE "C")));
        CREATE INDEX preference_pair_chosen_id ON preference_pair (chosen_id);
        CREATE INDEX preference_pair_rejected_id ON preference_pair (rejected_id);

        CREATE TABLE realign_job (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
            created TIMESTAMPTZ(3) NOT NULL,
            started TIMESTAMPTZ(3),
            finished TIMESTAMPTZ(3),
            request TEXT NOT NULL,
            progress TEXT,
            report TEXT,
            error TEXT,
            pairs_used BIGINT,
            feedback_through_seq BIGINT
        );
        -- At most one queued or running job: the indexed expression is the same value for all such rows.
        CREATE UNIQUE INDEX realign_job_one_active
            ON realign_job ((state IN ('queued', 'running'))) WHERE state IN ('queued', 'running');

        CREATE TABLE adapter_version (
            name TEXT NOT NULL,
            version BIGINT NOT NULL CHECK (version >= 1),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            objectives TEXT NOT NULL,
            weights TEXT NOT NULL,
            method TEXT NOT NULL,
            job_id TEXT REFERENCES realign_job(id),
            created TIMESTAMPTZ(3) NOT NULL,
            active BOOLEAN NOT NULL DEFAULT false,
            PRIMARY KEY (name, version)
        );
        CREATE UNIQUE INDEX adapter_version_one_active ON adapter_version (name) WHERE active;
        CREATE INDEX adapter_version_job ON adapter_version (job_id);
        """

    /// v2: free text becomes UTF-8 bytes (`bytea`), as in SQLite (FeedbackSchema.storeFreeTextAsUTF8Blobs). The
    /// canonical index moves to SHA-256 digests of the bytes; `least`/`greatest` on bytea order bytes as SQLite's
    /// min/max order BLOBs.
    static let version2 = """
        ALTER TABLE completion
            ALTER COLUMN prompt TYPE BYTEA USING convert_to(prompt, 'UTF8'),
            ALTER COLUMN text TYPE BYTEA USING convert_to(text, 'UTF8');

        DROP INDEX preference_pair_canonical;
        ALTER TABLE preference_pair
            DROP CONSTRAINT preference_pair_prompt_check,
            DROP CONSTRAINT preference_pair_chosen_check,
            DROP CONSTRAINT preference_pair_rejected_check,
            DROP CONSTRAINT preference_pair_texts_differ,
            ALTER COLUMN prompt TYPE BYTEA USING convert_to(prompt, 'UTF8'),
            ALTER COLUMN chosen TYPE BYTEA USING convert_to(chosen, 'UTF8'),
            ALTER COLUMN rejected TYPE BYTEA USING convert_to(rejected, 'UTF8'),
            ALTER COLUMN "user" TYPE BYTEA USING convert_to("user", 'UTF8'),
            ALTER COLUMN note TYPE BYTEA USING convert_to(note, 'UTF8'),
            ADD CONSTRAINT preference_pair_prompt_check CHECK (octet_length(prompt) > 0),
            ADD CONSTRAINT preference_pair_chosen_check CHECK (octet_length(chosen) > 0),
            ADD CONSTRAINT preference_pair_rejected_check CHECK (octet_length(rejected) > 0),
            ADD CONSTRAINT preference_pair_texts_differ CHECK (chosen <> rejected);
        CREATE UNIQUE INDEX preference_pair_canonical ON preference_pair (
            sha256(prompt), sha256(least(chosen, rejected)), sha256(greatest(chosen, rejected)));
        """

    /// v3: the id of the API key (never the key) that created each completion and preference pair.
    static let version3 = """
        ALTER TABLE completion ADD COLUMN key_id TEXT;
        ALTER TABLE preference_pair ADD COLUMN key_id TEXT;
        """

    /// v4: whether an adapter version's history file was pruned (`adapters.keep_versions`); its row stays.
    static let version4 = """
        ALTER TABLE adapter_version ADD COLUMN pruned BOOLEAN NOT NULL DEFAULT false
        """
}

extension PostgresFeedbackStore {
    /// Applies the missing migrations in one transaction (PostgreSQL's DDL is transactional) under the write lock,
    /// so replicas starting together migrate once. The checks come first and change nothing when they refuse.
    func migrate() async throws {
        let location = location
        try await transaction(.write) { [logger] connection in
            let hasMigrationsTable = try await connection.rows(
                "SELECT to_regclass(\(PostgresSchema.migrationsTable)) IS NOT NULL AS present", logger: logger)
                .first?["present"].decode(Bool.self) ?? false
            var applied: [String] = []
            if hasMigrationsTable {
                applied = try await connection.rows("SELECT identifier FROM raconteur_migrations ORDER BY applied_order", logger: logger)
                    .map { try $0["identifier"].decode(String.self) }
                let unknown = Set(applied).subtracting(PostgresSchema.knownMigrations)
                if !unknown.isEmpty {
                    throw FeedbackStoreError.schemaTooNew(path: location, unknownMigrations: unknown.sorted())
                }
            } else {
                let tables = try await connection.rows("""
                    SELECT count(*) AS tables FROM pg_catalog.pg_tables WHERE schemaname = current_schema()
                    """, logger: logger).first?["tables"].decode(Int.self) ?? 0
                if tables > 0 { throw FeedbackStoreError.notAFeedbackStore(path: location) }
                try await connection.execute("""
                    CREATE TABLE raconteur_migrations (
                        identifier TEXT PRIMARY KEY NOT NULL,
                        applied_order BIGINT GENERATED ALWAYS AS IDENTITY,
                        applied TIMESTAMPTZ NOT NULL DEFAULT now()
                    )
                    """, logger: logger)
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                // The extended protocol runs one statement per query; none of these has a ';' inside it.
                for statement in migration.sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) })
                    where !statement.isEmpty {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.execute("INSERT INTO raconteur_migrations (identifier) VALUES (\(migration.name))", logger: logger)
            }
        }
    }

    /// Migration names applied to this database, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await transaction(.read) { [logger] connection in
            try await connection.rows("SELECT identifier FROM raconteur_migrations ORDER BY applied_order", logger: logger)
                .map { try $0["identifier"].decode(String.self) }
        }
    }
}
