#define BOOST_TEST_MODULE revision_graph
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "pangeo_forge/error.hpp"
#include "support/query.hpp"
#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/graph.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;

namespace {

Revision revision(const std::string& id, Ids down = {}, Ids labels = {}, Ids depends_on = {}) {
    Revision r;
    r.id = id;
    r.down_revisions = std::move(down);
    r.branch_labels = std::move(labels);
    r.depends_on = std::move(depends_on);
    r.message = "revision " + id;
    return r;
}

// a1 <- b2 <- c3 (branch point) <- d4 <- f6 (merge) <- g7
//                               <- e5 <-/
RevisionGraph diamond() {
    return RevisionGraph({revision("a1"), revision("b2", {"a1"}), revision("c3", {"b2"}),
                          revision("d4", {"c3"}, {"left"}), revision("e5", {"c3"}, {"right"}),
                          revision("f6", {"d4", "e5"}), revision("g7", {"f6"})});
}

// Two heads: b2 and c3 both build on a1.
RevisionGraph forked() {
    return RevisionGraph({revision("a1"), revision("b2", {"a1"}, {"feature"}), revision("c3", {"a1"})});
}

class TemporaryFolder {
public:
    TemporaryFolder() {
        path_ = std::filesystem::temp_directory_path() / ("pangeo_forge_graph_" + new_revision_id());
        std::filesystem::create_directories(path_);
    }
    ~TemporaryFolder() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }

private:
    std::filesystem::path path_;
};

std::string revision_json(const std::string& id, const std::string& down) {
    return R"({"revision": ")" + id + R"(", "down_revision": )" + down + R"(, "upgrade": [], "downgrade": []})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_bundled_history_is_linear_with_the_alembic_ids) {
    auto graph = RevisionGraph::load(bundled_migrations());
    BOOST_TEST(graph.topological_order() ==
                   (Ids{"81c7d27bde71", "6197f9c7aff6", "b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"}),
               boost::test_tools::per_element());
    BOOST_TEST(graph.heads() == Ids{"a453b710a63a"});
    BOOST_TEST(graph.bases() == Ids{"81c7d27bde71"});
    BOOST_TEST(graph.branch_points().empty());
}

BOOST_AUTO_TEST_CASE(heads_bases_branch_and_merge_points) {
    auto graph = diamond();
    BOOST_TEST(graph.heads() == Ids{"g7"});
    BOOST_TEST(graph.bases() == Ids{"a1"});
    BOOST_TEST(graph.branch_points() == Ids{"c3"});
    BOOST_TEST(graph.children("c3") == (Ids{"d4", "e5"}), boost::test_tools::per_element());
    BOOST_TEST(forked().heads() == (Ids{"b2", "c3"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(targets_resolve_by_name_id_prefix_and_label) {
    auto graph = diamond();
    BOOST_TEST(graph.resolve_target("head", {}) == Ids{"g7"});
    BOOST_TEST(graph.resolve_target("heads", {}) == Ids{"g7"});
    BOOST_TEST(graph.resolve_target("base", {"g7"}).empty());
    BOOST_TEST(graph.resolve_target("d4", {}) == Ids{"d4"});
    BOOST_TEST(graph.resolve_target("e", {}) == Ids{"e5"});  // a unique prefix
    BOOST_TEST(graph.resolve_target("left", {}) == Ids{"d4"});
    BOOST_TEST(forked().resolve_target("feature@head", {}) == Ids{"b2"});
}

BOOST_AUTO_TEST_CASE(relative_targets_walk_the_history) {
    auto graph = diamond();
    BOOST_TEST(graph.resolve_target("+2", {}) == Ids{"b2"});    // from base
    BOOST_TEST(graph.resolve_target("+1", {"a1"}) == Ids{"b2"});
    BOOST_TEST(graph.resolve_target("-1", {"b2"}) == Ids{"a1"});
    BOOST_TEST(graph.resolve_target("-2", {"b2"}).empty());    // down to base
    BOOST_TEST(graph.resolve_target("a1+2", {}) == Ids{"c3"});
    BOOST_TEST(graph.resolve_target("g7-1", {}) == Ids{"f6"});
    BOOST_TEST(test::error_message([&] { graph.resolve_target("c3+1", {}); }).find("forks (d4, e5)") != std::string::npos);
    BOOST_TEST(test::error_message([&] { graph.resolve_target("-3", {"b2"}); }).find("below the base") != std::string::npos);
    BOOST_TEST(test::error_message([&] { graph.resolve_target("+1", {"g7"}); }).find("history ends at g7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(step_counts_too_large_for_a_number_are_refused_naming_the_target) {
    // Each once ended the program: std::stoi threw std::out_of_range past the command's catch.
    auto graph = diamond();
    for (const std::string spec : {"+2147483648", "-2147483648", "a1+99999999999999999999", "g7-2147483648",
                                   "head-4294967296", "+99999999999999999999999999999999999999"}) {
        auto message = test::error_message([&] { graph.resolve_target(spec, {"b2"}); });
        BOOST_TEST(message.find("'" + spec + "'") != std::string::npos, message);
        BOOST_TEST(message.find("steps") != std::string::npos, message);
        BOOST_TEST(message.find("history has 7 revisions") != std::string::npos, message);
    }
    // More steps than revisions can never be walked: refused before walking.
    for (const std::string spec : {"+2147483647", "-8", "a1+8"}) {
        auto message = test::error_message([&] { graph.resolve_target(spec, {"b2"}); });
        BOOST_TEST(message.find("'" + spec + "'") != std::string::npos, message);
        BOOST_TEST(message.find("at most 7") != std::string::npos, message);
    }
    // Up to the size of the history, the walk says where it stops.
    BOOST_TEST(test::error_message([&] { graph.resolve_target("+7", {}); }).find("forks") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(relative_steps_count_from_head_and_branch_heads) {
    auto graph = diamond();
    BOOST_TEST(graph.resolve_target("head-1", {}) == Ids{"f6"});
    BOOST_TEST(graph.resolve_target("head-0", {}) == Ids{"g7"});
    BOOST_TEST(graph.resolve_target("base+1", {}) == Ids{"a1"});
    BOOST_TEST(forked().resolve_target("feature@head-1", {}) == Ids{"a1"});
    auto ambiguous = test::error_message([] { forked().resolve_target("head-1", {}); });
    BOOST_TEST(ambiguous.find("2 heads (b2, c3)") != std::string::npos, ambiguous);
}

BOOST_AUTO_TEST_CASE(head_with_several_heads_names_them_and_suggests_merge) {
    auto message = test::error_message([] { forked().resolve_target("head", {}); });
    BOOST_TEST(message.find("2 heads (b2, c3)") != std::string::npos, message);
    BOOST_TEST(message.find("heads") != std::string::npos);
    BOOST_TEST(message.find("pangeo-forge db merge") != std::string::npos, message);
    BOOST_TEST(forked().resolve_target("heads", {}) == (Ids{"b2", "c3"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unknown_and_ambiguous_revisions_are_refused) {
    auto graph = RevisionGraph({revision("abc1"), revision("abc2", {"abc1"})});
    BOOST_TEST(test::error_message([&] { graph.resolve_revision("abc"); }).find("several revisions (abc1, abc2)") !=
               std::string::npos);
    BOOST_TEST(test::error_message([&] { graph.resolve_revision("zzz"); }).find("there is no revision 'zzz'") !=
               std::string::npos);
    // An empty prefix would match every revision, and a history of one would resolve it.
    auto single = RevisionGraph({revision("abc1")});
    BOOST_TEST(test::error_message([&] { single.resolve_revision(""); }).find("an empty revision names nothing") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(plans_follow_the_graph) {
    auto graph = diamond();
    BOOST_TEST(graph.upgrade_plan({}, {"g7"}) == (Ids{"a1", "b2", "c3", "d4", "e5", "f6", "g7"}),
               boost::test_tools::per_element());
    BOOST_TEST(graph.upgrade_plan({"d4"}, {"g7"}) == (Ids{"e5", "f6", "g7"}), boost::test_tools::per_element());
    BOOST_TEST(graph.downgrade_plan({"g7"}, {"c3"}) == (Ids{"g7", "f6", "e5", "d4"}),
               boost::test_tools::per_element());
    BOOST_TEST(graph.upgrade_plan({"g7"}, {"c3"}).empty());  // already past it
    BOOST_TEST(test::error_message([&] { graph.downgrade_plan({"d4"}, {"e5"}); }).find("use upgrade") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(heads_move_as_revisions_are_applied_and_undone) {
    auto graph = diamond();
    BOOST_TEST(graph.heads_after_upgrade({"c3"}, "d4") == Ids{"d4"});
    BOOST_TEST(graph.heads_after_upgrade({"d4"}, "e5") == (Ids{"d4", "e5"}), boost::test_tools::per_element());
    BOOST_TEST(graph.heads_after_upgrade({"d4", "e5"}, "f6") == Ids{"f6"});
    BOOST_TEST(graph.heads_after_downgrade({"f6"}, "f6") == (Ids{"d4", "e5"}), boost::test_tools::per_element());
    BOOST_TEST(graph.heads_after_downgrade({"d4", "e5"}, "e5") == Ids{"d4"});
    BOOST_TEST(graph.heads_after_downgrade({"a1"}, "a1").empty());
}

BOOST_AUTO_TEST_CASE(a_downgrade_leaves_other_branches_alone) {
    // x0 <- a1 <- a2 ; x0 <- b1
    auto graph = RevisionGraph({revision("x0"), revision("a1", {"x0"}), revision("a2", {"a1"}), revision("b1", {"x0"})});
    BOOST_TEST(graph.downgrade_plan({"a2", "b1"}, {"a1"}) == Ids{"a2"});
    BOOST_TEST(graph.downgrade_plan({"a2", "b1"}, {}) == (Ids{"b1", "a2", "a1", "x0"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(undoing_a_merge_never_leaves_one_head_below_another) {
    // m2 merges a2 and x0, though x0 is below a2 already.
    auto graph = RevisionGraph({revision("x0"), revision("a1", {"x0"}), revision("a2", {"a1"}), revision("m2", {"a2", "x0"})});
    BOOST_TEST(graph.heads_after_downgrade({"m2"}, "m2") == Ids{"a2"});
}

BOOST_AUTO_TEST_CASE(depends_on_pulls_in_the_dependency) {
    auto graph = RevisionGraph({revision("a1"), revision("b2", {"a1"}), revision("x1", {}, {}, {"b2"})});
    BOOST_TEST(graph.upgrade_plan({}, {"x1"}) == (Ids{"a1", "b2", "x1"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(graph_errors_name_the_revision) {
    BOOST_TEST(test::error_message([] { RevisionGraph({revision("a1"), revision("a1")}); }).find("defined twice") !=
               std::string::npos);
    BOOST_TEST(test::error_message([] { RevisionGraph({revision("a1", {"zz"})}); })
                   .find("down_revision 'zz' is not a revision") != std::string::npos);
    auto cycle = test::error_message([] { RevisionGraph({revision("a1", {"b2"}), revision("b2", {"a1"})}); });
    BOOST_TEST(cycle.find("cycle: a1 -> b2 -> a1") != std::string::npos, cycle);
    BOOST_TEST(test::error_message([] { RevisionGraph({revision("a1", {}, {"x"}), revision("b2", {"a1"}, {"x"})}); })
                   .find("branch label 'x'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(loading_names_the_file_at_fault) {
    TemporaryFolder folder;
    folder.write("a1.json", revision_json("a1", "null"));
    folder.write("b2.json", revision_json("b2", "\"a1\""));
    BOOST_TEST(RevisionGraph::load(folder.path()).size() == 2u);

    folder.write("c3.json", revision_json("c3", "\"nope\""));
    BOOST_TEST(test::error_message([&] { RevisionGraph::load(folder.path()); }).find("c3.json: down_revision 'nope'") !=
               std::string::npos);
    folder.write("c3.json", revision_json("c3", "\"b2\"") + "}");
    auto malformed = test::error_message([&] { RevisionGraph::load(folder.path()); });
    BOOST_TEST(malformed.find("c3.json: malformed JSON at line 1") != std::string::npos, malformed);
    folder.write("c3.json", R"({"revision": "c3", "down_revision": "b2", "upgrade": [{"op": "drop_tabel"}]})");
    auto unknown = test::error_message([&] { RevisionGraph::load(folder.path()); });
    BOOST_TEST(unknown.find("c3.json is not a valid revision file") != std::string::npos, unknown);
    BOOST_TEST(unknown.find("upgrade.0.op: unknown operation 'drop_tabel'") != std::string::npos, unknown);
    folder.write("c3.json", revision_json("a1", "\"b2\""));
    BOOST_TEST(test::error_message([&] { RevisionGraph::load(folder.path()); }).find("in a1.json and in c3.json") !=
               std::string::npos);
}

namespace {

// The MigrationError message of loading a folder holding one revision file with `text`.
std::string message_loading(const std::string& text) {
    TemporaryFolder folder;
    folder.write("a1_bad.json", text);
    try {
        RevisionGraph::load(folder.path());
    } catch (const MigrationError& error) {
        return error.what();
    }
    return "(loaded)";
}

void check_names(const std::string& message, const std::vector<std::string>& expected) {
    for (const auto& text : expected) BOOST_TEST(message.find(text) != std::string::npos, "no '" << text << "' in: " << message);
}

}  // namespace

BOOST_AUTO_TEST_CASE(numbers_out_of_range_in_a_revision_file_name_the_file_and_the_field) {
    // 1e400 once ended the program: nlohmann's out_of_range passed the parse_error catch.
    check_names(message_loading(R"({"revision": "a1", "create_date": 1e400, "upgrade": [], "downgrade": []})"),
                {"a1_bad.json", "create_date", "1e400", "out of range"});
    check_names(message_loading(R"({"revision": "a1", "create_date": -1e400})"), {"a1_bad.json", "create_date"});
    check_names(message_loading(R"({"revision": "a1", "upgrade": [{"op": "drop_table"}, {"op": "execute", "sql": 1e999}]})"),
                {"a1_bad.json", "upgrade.1.sql", "out of range"});
    check_names(message_loading(R"({"revision": "a1", "notes": [1, 2, 123456789012345678901234567890e300]})"),
                {"a1_bad.json", "notes.2"});
    // Within range, a number where a string belongs is a type error, not a crash.
    check_names(message_loading(R"({"revision": "a1", "create_date": 1e-400})"),
                {"a1_bad.json is not a valid revision file", "create_date: str type expected"});
}

BOOST_AUTO_TEST_CASE(values_of_the_wrong_type_in_a_revision_file_name_the_file_and_the_field) {
    struct Case {
        std::string text;
        std::string field;
    };
    const Case cases[] = {
        {R"({"revision": 7})", "revision: str type expected"},
        {R"({"revision": "a1", "message": ["x"]})", "message: str type expected"},
        {R"({"revision": "a1", "down_revision": 5})", "down_revision: value is not a valid list"},
        {R"({"revision": "a1", "down_revision": [5]})", "down_revision: str type expected"},
        {R"({"revision": "a1", "branch_labels": "x", "depends_on": {"a": 1}})", "depends_on: value is not a valid list"},
        {R"({"revision": "a1", "upgrade": "drop everything"})", "upgrade: value is not a valid list"},
        {R"({"revision": "a1", "upgrade": [[{"op": "drop_table", "table": "t"}]]})", "upgrade.0: value is not a valid dict"},
        {R"({"revision": "a1", "upgrade": [{"op": ["drop_table"]}]})", "upgrade.0.op: str type expected"},
        {R"({"revision": "a1", "upgrade": [{"op": "create_table", "table": "t"}]})", "upgrade.0.table: value is not a valid dict"},
        {R"({"revision": "a1", "upgrade": [{"op": "create_table", "table": {"name": "t", "columns": {"id": 1}}}]})",
         "upgrade.0.table.columns: value is not a valid list"},
        {R"({"revision": "a1", "upgrade": [{"op": "create_table", "table": {"name": "t", "columns": [{"name": "id", "type": 4}]}}]})",
         "upgrade.0.table.columns.0.type: unknown column type"},
        {R"({"revision": "a1", "upgrade": [{"op": "add_column", "table": "t", "column": {"name": "c", "type": "text", "nullable": 1}}]})",
         "upgrade.0.column.nullable"},
        {R"({"revision": "a1", "upgrade": [{"op": "create_index", "table": "t", "index": {"columns": [[["c"]]]}}]})",
         "upgrade.0.index.columns: str type expected"},
        {R"x({"revision": "a1", "upgrade": [{"op": "add_column", "table": "t", "column": {"name": "c", "type": "varchar(99999999999)"}}]})x",
         "upgrade.0.column.type: unknown column type"},
        {R"([{"revision": "a1"}])", "the file: value is not a valid dict"},
        {R"("a1")", "the file: value is not a valid dict"},
        {R"(null)", "the file: value is not a valid dict"},
    };
    for (const auto& c : cases) check_names(message_loading(c.text), {"a1_bad.json is not a valid revision file", c.field});
    // Nested deeply: refused, not a stack overflow.
    std::string deep = R"({"revision": "a1", "upgrade": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    check_names(message_loading(deep), {"a1_bad.json", "upgrade.0"});
}

BOOST_AUTO_TEST_CASE(create_table_constraints_on_missing_columns_are_refused_on_loading) {
    // These once loaded, and failed at upgrade naming neither the revision nor the operation.
    auto table_with = [](const std::string& extra) {
        return R"({"revision": "a1", "upgrade": [{"op": "drop_table", "table": "old"}, {"op": "create_table", "table":
                  {"name": "t", "columns": [{"name": "id", "type": "integer"}, {"name": "b", "type": "text"}])" +
               extra + "}}]}";
    };
    check_names(message_loading(table_with(R"(, "primary_key": {"columns": ["ib"]})")),
                {"a1_bad.json is not a valid revision file", "upgrade.1.table.primary_key.columns.0", "'ib'",
                 "not a column of table t"});
    check_names(message_loading(table_with(R"(, "indexes": [{"columns": ["b", "c"]}])")),
                {"a1_bad.json", "upgrade.1.table.indexes.0.columns.1", "'c'"});
    check_names(message_loading(table_with(R"(, "unique_constraints": [{"columns": ["x"]}])")),
                {"a1_bad.json", "upgrade.1.table.unique_constraints.0.columns.0"});
    check_names(message_loading(table_with(
                    R"(, "foreign_keys": [{"columns": ["bb"], "referred_table": "u", "referred_columns": ["id"]}])")),
                {"a1_bad.json", "upgrade.1.table.foreign_keys.0.columns.0", "'bb'"});
    check_names(message_loading(table_with(
                    R"(, "foreign_keys": [{"columns": ["b"], "referred_table": "t", "referred_columns": ["nope"]}])")),
                {"a1_bad.json", "upgrade.1.table.foreign_keys.0.referred_columns.0", "'nope'"});
    check_names(message_loading(table_with(
                    R"(, "foreign_keys": [{"columns": ["b", "id"], "referred_table": "u", "referred_columns": ["id"]}])")),
                {"a1_bad.json", "upgrade.1.table.foreign_keys.0.referred_columns", "as many"});
    check_names(message_loading(table_with(R"(, "indexes": [{"columns": []}])")),
                {"a1_bad.json", "upgrade.1.table.indexes.0.columns", "at least one column"});
    auto empty_name = message_loading(R"({"revision": "a1", "upgrade": [{"op": "create_table", "table":
        {"name": "t", "columns": [{"name": "id", "type": "integer"}, {"name": "", "type": "text"}]}}]})");
    check_names(empty_name, {"a1_bad.json", "upgrade.0.table.columns.1.name", "empty"});
    auto twice = message_loading(R"({"revision": "a1", "upgrade": [{"op": "create_table", "table":
        {"name": "t", "columns": [{"name": "id", "type": "integer"}, {"name": "id", "type": "text"}]}}]})");
    check_names(twice, {"a1_bad.json", "upgrade.0.table.columns.1.name", "twice"});
    check_names(message_loading(R"({"revision": "a1", "downgrade": [{"op": "create_table", "table": {"name": "", "columns": []}}]})"),
                {"a1_bad.json", "downgrade.0.table.name", "empty"});
}

// --- branched histories, as Alembic reads them (tests/migrate/branched) ---------------
//
// aaaa00000001 <- aaaa00000002 <- bbbb00000001 (alpha) <- bbbb00000002 <- dddd00000001 (merge)
//                              <- cccc00000001 (beta)  <- cccc00000002 <-/

namespace {

RevisionGraph branched() { return RevisionGraph::load(PANGEO_FORGE_BRANCHED_TREE); }

const std::string stem = "aaaa00000002", alpha1 = "bbbb00000001", alpha2 = "bbbb00000002", beta1 = "cccc00000001",
                  beta2 = "cccc00000002", merged = "dddd00000001";

}  // namespace

BOOST_AUTO_TEST_CASE(current_and_steps_counted_from_it) {
    auto graph = branched();
    BOOST_TEST(graph.resolve_target("current", {alpha1}) == Ids{alpha1});
    BOOST_TEST(graph.resolve_target("current+1", {alpha1}) == Ids{alpha2});
    BOOST_TEST(graph.resolve_target("current-2", {alpha1}) == Ids{"aaaa00000001"});
    BOOST_TEST(graph.resolve_target("current-1", {"aaaa00000001"}).empty());
}

BOOST_AUTO_TEST_CASE(label_steps_move_that_branch_from_where_the_database_has_it) {
    auto graph = branched();
    // beta has nothing applied above the stem: one step up the beta branch is beta1.
    BOOST_TEST(graph.resolve_target("beta@+1", {alpha2}) == Ids{beta1});
    BOOST_TEST(graph.resolve_target("beta@+2", {alpha2}) == Ids{beta2});
    BOOST_TEST(graph.resolve_target("alpha@-1", {alpha2, beta2}) == Ids{alpha1});
    BOOST_TEST(graph.resolve_target("alpha@-3", {alpha2, beta2}) == Ids{"aaaa00000001"});
    BOOST_TEST(test::error_message([&] { graph.resolve_target("gamma@+1", {}); }).find("no revision 'gamma'") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(label_at_base_undoes_that_line_and_what_builds_on_it) {
    auto graph = branched();
    BOOST_TEST(graph.resolve_target("alpha@base", {alpha2}).empty());
    // The stem is on alpha's line, so beta, built on it, goes too (as Alembic does).
    BOOST_TEST(graph.downgrade_plan_to("alpha@base", {alpha2, beta1}) ==
                   (Ids{beta1, alpha2, alpha1, stem, "aaaa00000001"}),
               boost::test_tools::per_element());
    BOOST_TEST(graph.upgrade_plan_to("alpha@base", {alpha2}).empty());
    // An independent history keeps its revisions.
    auto two_roots = RevisionGraph({revision("a1", {}, {"left"}), revision("a2", {"a1"}), revision("z1", {}, {"right"})});
    BOOST_TEST(two_roots.downgrade_plan_to("left@base", {"a2", "z1"}) == (Ids{"a2", "a1"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stamp_replaces_the_heads_on_its_line_and_keeps_the_others) {
    auto graph = branched();
    BOOST_TEST(graph.heads_after_stamp({alpha2, beta2}, {alpha1}) == (Ids{beta2, alpha1}), boost::test_tools::per_element());
    BOOST_TEST(graph.heads_after_stamp({alpha2, beta2}, {stem}) == Ids{stem});
    BOOST_TEST(graph.heads_after_stamp({alpha1}, {beta2}) == (Ids{alpha1, beta2}), boost::test_tools::per_element());
    BOOST_TEST(graph.heads_after_stamp({alpha2, beta2}, {merged}) == Ids{merged});
    BOOST_TEST(graph.heads_after_stamp({alpha2, beta2}, {}).empty());
}

BOOST_AUTO_TEST_CASE(an_upgrade_refuses_steps_down_from_the_database_naming_downgrade) {
    auto graph = branched();
    for (const std::string spec : {"-1", "current-1", "alpha@-1"}) {
        auto message = test::error_message([&] { graph.upgrade_plan_to(spec, {alpha2}); });
        BOOST_TEST(message == "'" + spec + "' goes down from where the database is: use `pangeo-forge db downgrade " +
                                  spec + "`");
    }
    // A revision counted from a named one is a place, as in Alembic: below the database, nothing to do.
    BOOST_TEST(graph.upgrade_plan_to(alpha2 + "-1", {alpha2}).empty());
    BOOST_TEST(graph.upgrade_plan_to("-0", {alpha2}).empty());
}

BOOST_AUTO_TEST_CASE(stamp_label_at_base_clears_that_branch_only) {
    auto graph = branched();
    BOOST_TEST(graph.heads_after_stamp_to("alpha@base", {alpha1, beta2}) == Ids{beta2});
    BOOST_TEST(graph.heads_after_stamp_to("alpha@base", {beta2}) == Ids{beta2});
    BOOST_TEST(graph.heads_after_stamp_to("alpha@base", {stem}).empty());
    BOOST_TEST(graph.heads_after_stamp_to("alpha@base", {merged}).empty());
    BOOST_TEST(graph.heads_after_stamp_to(alpha1, {alpha2, beta2}) == (Ids{beta2, alpha1}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(branch_names_are_shown_on_the_revisions_of_the_branch) {
    auto graph = branched();
    BOOST_TEST(graph.branch_names(stem).empty());
    BOOST_TEST(graph.branch_names(alpha2) == Ids{"alpha"});
    BOOST_TEST(graph.branch_names(merged) == (Ids{"alpha", "beta"}), boost::test_tools::per_element());
    auto lines = history(graph, "", {alpha2});
    BOOST_TEST(lines.front() == "bbbb00000002, cccc00000002 -> dddd00000001 (alpha, beta) (head) (mergepoint), "
                                "merge alpha and beta");
    BOOST_TEST(std::count(lines.begin(), lines.end(), "bbbb00000001 -> bbbb00000002 (alpha) (current), alpha two") == 1);
    BOOST_TEST(heads(graph) == Ids{"dddd00000001 (alpha, beta) (head)"});
    auto verbose = history(graph, stem + ":" + stem, {}, true);
    BOOST_TEST(verbose.at(0) == "Rev: aaaa00000002 (branchpoint)");
    BOOST_TEST(verbose.at(2) == "Branches into: bbbb00000001, cccc00000001");
    auto merge_block = history(graph, merged + ":" + merged, {}, true);
    BOOST_TEST(merge_block.at(1) == "Merges: bbbb00000002, cccc00000002");
    BOOST_TEST(merge_block.at(2) == "Branch names: alpha, beta");
}

BOOST_AUTO_TEST_CASE(history_ranges_that_run_down_or_across_say_why) {
    auto graph = branched();
    auto down = test::error_message([&] { history(graph, alpha2 + ":" + stem); });
    BOOST_TEST(down.find("aaaa00000002 is below bbbb00000002") != std::string::npos, down);
    BOOST_TEST(down.find("(aaaa00000002:bbbb00000002)") != std::string::npos, down);
    auto across = test::error_message([&] { history(graph, alpha2 + ":" + beta2); });
    BOOST_TEST(across.find("on different branches") != std::string::npos, across);
    // Relative ends count from the database's revision.
    BOOST_TEST(history_revisions(graph, "-1:", {alpha2}) == (Ids{merged, alpha2, alpha1}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(show_takes_every_target_that_names_revisions) {
    auto graph = branched();
    BOOST_TEST(show_revisions(graph, "head") == Ids{merged});
    BOOST_TEST(show_revisions(graph, "heads") == Ids{merged});
    BOOST_TEST(show_revisions(graph, "base") == Ids{"aaaa00000001"});
    BOOST_TEST(show_revisions(graph, "current", {alpha1, beta1}) == (Ids{alpha1, beta1}), boost::test_tools::per_element());
    BOOST_TEST(show_revisions(graph, "beta@head") == Ids{merged});
    BOOST_TEST(show_revisions(graph, "alpha") == Ids{alpha1});
    auto lines = show(graph, "current", {alpha1, beta1});
    BOOST_TEST(std::count(lines.begin(), lines.end(), "Upgrade:") == 2);
    BOOST_TEST(test::error_message([&] { show_revisions(graph, "current", {}); }).find("none applied") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(step_lines_name_what_the_revision_builds_on) {
    auto graph = branched();
    auto script = offline_upgrade_sql(graph, alpha2, "heads", db::Dialect(db::Backend::sqlite));
    BOOST_TEST(script.find("-- Running upgrade aaaa00000002 -> cccc00000001, beta one") != std::string::npos, script);
    BOOST_TEST(script.find("-- Running upgrade bbbb00000002, cccc00000002 -> dddd00000001, merge alpha and beta") !=
               std::string::npos);
    StepReport step;
    step.revision = beta1;
    step.down_revisions = {stem};
    step.heads_before = {alpha2};
    step.message = "beta one";
    BOOST_TEST(describe(step) == "Running upgrade aaaa00000002 -> cccc00000001, beta one (0.0 ms)");
    step.direction = StepReport::Direction::downgrade;
    BOOST_TEST(describe(step) == "Running downgrade cccc00000001 -> aaaa00000002, beta one (0.0 ms)");
}

BOOST_AUTO_TEST_CASE(offline_upgrade_ranges_that_go_down_are_refused) {
    auto graph = branched();
    const db::Dialect sqlite(db::Backend::sqlite);
    auto message = test::error_message([&] { offline_upgrade_sql(graph, alpha2, stem, sqlite); });
    BOOST_TEST(message.find("goes down") != std::string::npos, message);
    BOOST_TEST(message.find("`upgrade aaaa00000002:bbbb00000002 --sql`") != std::string::npos, message);
    BOOST_TEST(test::error_message([&] { offline_upgrade_sql(graph, alpha2, "base", sqlite); }).find("goes down") !=
               std::string::npos);
    BOOST_TEST(offline_upgrade_sql(graph, alpha2, alpha2, sqlite).find("-- Running") == std::string::npos);
}
