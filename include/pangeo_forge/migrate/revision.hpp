#pragma once
// A revision file: one step of the migration history, as JSON in migrations/versions/:
//   {"revision": "6197f9c7aff6", "down_revision": "81c7d27bde71", "branch_labels": [],
//    "depends_on": [], "message": "add bakery and feedstock", "create_date": "...",
//    "upgrade": [operations], "downgrade": [operations], "notes": [text, optional],
//    "lint": {"waive": [{"rule": "dropping-table", "operation": 0, "reason": "..."}], optional}}
// down_revision is a string, a list (a merge point) or null (a base). Ids are Alembic's.
//
// "lint" waives findings of `db lint` (lint.hpp). It is left out of the checksum, so that
// waiving a finding of a revision a database has applied does not make the engine warn that
// the file changed.
//
// Thread safety: plain values; loading reads files and holds nothing.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pangeo_forge/migrate/operations.hpp"

namespace pangeo_forge::migrate {

// A finding of `db lint` the revision's author accepts: the rule, the upgrade operation it
// is about (its index in "upgrade", from 0), and why it is safe.
struct LintWaiver {
    std::string rule;
    std::size_t operation = 0;
    std::string reason;

    bool operator==(const LintWaiver& other) const {
        return rule == other.rule && operation == other.operation && reason == other.reason;
    }
};

struct Revision {
    std::string id;
    std::vector<std::string> down_revisions;  // empty: a base; two or more: a merge point
    std::vector<std::string> branch_labels;
    std::vector<std::string> depends_on;
    std::string message;
    std::string create_date;
    std::vector<Operation> upgrade;
    std::vector<Operation> downgrade;
    std::vector<std::string> notes;  // for the people who review the file (autogenerate writes them)
    std::vector<LintWaiver> lint_waivers;

    std::filesystem::path path;  // the file it was read from; empty for one not yet written
    std::string checksum;        // revision_checksum() of the file's text

    bool operator==(const Revision& other) const;
};

// Parses a revision file's text. Throws MigrationError naming `path` and, for a field
// that is wrong, its path in the file ("upgrade.2.column.type: ...", "lint.waive.0.rule:
// unknown lint rule ...").
Revision parse_revision(std::string_view text, const std::filesystem::path& path);

// Reads and parses one file.
Revision load_revision_file(const std::filesystem::path& path);

// The file text of a revision (pretty JSON, keys in a fixed order, newline at the end).
std::string revision_file_text(const Revision& revision);

// "<id>_<message as a slug>.json"
std::string revision_file_name(const Revision& revision);

// A fresh 12-hex-digit id, as Alembic makes them.
std::string new_revision_id();

// The current UTC time as revision files record it (ISO 8601, UTC).
std::string revision_timestamp_now();

// SHA-256 of a revision file's `text` without its top-level "lint" member: the bytes from
// the comma before the member to the end of its value are left out (or, when it is the first
// member, from its key to the next member), so a "lint" member added to a file, and then
// changed, leaves the checksum of the bytes it had before. `text` must be valid JSON.
std::string revision_checksum(std::string_view text);

// SHA-256 of `bytes`, in lower-case hex.
std::string sha256_hex(std::string_view bytes);

}  // namespace pangeo_forge::migrate
