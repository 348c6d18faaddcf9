#define BOOST_TEST_MODULE revision_graph
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "pangeo_forge/error.hpp"
#include "support/query.hpp"
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
                   (Ids{"81c7d27bde71", "6197f9c7aff6", "b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd"}),
               boost::test_tools::per_element());
    BOOST_TEST(graph.heads() == Ids{"3b96e7fb9cbd"});
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
