// Revision files: the input is a file's text. It either parses or throws MigrationError
// (migrate/revision.hpp). A revision that parses must survive being written:
// parse_revision(revision_file_text(r)) == r. Its upgrade then runs on schema values, from
// an empty database and from the declared schema at head (the bundled revisions fit one or
// the other): each operation either fits or throws MigrationError (migrate/operations.hpp),
// and one that fits, followed by its inverse, gives the schema before it back. Last, the
// upgrade and then the downgrade are rendered as SQL for each dialect (migrate/ddl.hpp).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "expect.hpp"
#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "pangeo_forge/migrate/revision.hpp"
#include "pangeo_forge/model/schema.hpp"

namespace {

using namespace pangeo_forge;

void round_trip(const migrate::Revision& revision) {
    std::string text = migrate::revision_file_text(revision);
    migrate::Revision again;
    fuzz::require(fuzz::succeeds<MigrationError>([&] { again = migrate::parse_revision(text, "written.json"); }),
                  "a parsed revision's own file text parses");
    fuzz::require(again == revision, "parse_revision(revision_file_text(r)) == r");
}

// Each operation in turn, until one does not fit; `schema` is the schema before them.
void invert_each(const std::vector<migrate::Operation>& operations, schema::Schema schema) {
    for (const auto& operation : operations) {
        const schema::Schema before = schema;
        std::vector<migrate::Operation> undo;
        // execute (raw SQL) has no inverse but fits any schema: the operations after it still run.
        bool invertible = fuzz::succeeds<MigrationError>([&] { undo = migrate::inverse(operation, before); });
        if (!fuzz::succeeds<MigrationError>([&] { migrate::apply(operation, schema); })) return;
        if (!invertible) continue;
        schema::Schema undone = schema;
        fuzz::require(fuzz::succeeds<MigrationError>([&] {
                          for (const auto& step : undo) migrate::apply(step, undone);
                      }),
                      "an operation's inverse fits the schema after it");
        fuzz::require(schema::canonical(undone) == schema::canonical(before),
                      "an operation then its inverse gives the schema before it");
    }
}

void render(const migrate::Revision& revision, schema::Schema schema, const db::Dialect& dialect) {
    if (!fuzz::succeeds<MigrationError>([&] { migrate::render(revision.upgrade, schema, dialect); })) return;
    fuzz::succeeds<MigrationError>([&] { migrate::render(revision.downgrade, schema, dialect); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    migrate::Revision revision;
    if (!fuzz::succeeds<MigrationError>([&] { revision = migrate::parse_revision(text, "fuzzed.json"); })) return 0;
    round_trip(revision);
    for (const auto& start : {schema::Schema{}, model::schema()}) {
        invert_each(revision.upgrade, start);
        for (auto backend : {db::Backend::sqlite, db::Backend::postgresql}) render(revision, start, db::Dialect(backend));
    }
    return 0;
}
