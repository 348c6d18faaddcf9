// Migration targets and ranges as the command line takes them ("alpha@-1", "head-2",
// "current+1", "a:b"): the input is the text, resolved on a branched history (two labelled
// branches on a stem, their merge, and an independent root) from several database states.
// Each resolution either succeeds or throws MigrationError (migrate/graph.hpp). What
// succeeds holds together: a plan moves only revisions the graph has, an upgrade applies
// nothing the database holds, a downgrade undoes only what it holds, each once, and
// walking the plan's revisions one by one ends at heads the graph knows.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "expect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace {

using namespace pangeo_forge;
using Ids = std::vector<std::string>;

migrate::Revision revision(const std::string& id, Ids down = {}, Ids labels = {}) {
    migrate::Revision r;
    r.id = id;
    r.down_revisions = std::move(down);
    r.branch_labels = std::move(labels);
    r.message = id;
    return r;
}

// a1 <- a2 <- b1 (alpha) <- b2 <- m1 ; a2 <- c1 (beta) <- c2 <- m1 ; z1 (solo) <- z2
const migrate::RevisionGraph& graph() {
    static const migrate::RevisionGraph graph({revision("aaaa01"), revision("aaaa02", {"aaaa01"}),
                                               revision("bbbb01", {"aaaa02"}, {"alpha"}), revision("bbbb02", {"bbbb01"}),
                                               revision("cccc01", {"aaaa02"}, {"beta"}), revision("cccc02", {"cccc01"}),
                                               revision("dddd01", {"bbbb02", "cccc02"}), revision("zzzz01", {}, {"solo"}),
                                               revision("zzzz02", {"zzzz01"})});
    return graph;
}

void check_plan(const Ids& plan, const Ids& current, bool upgrade) {
    const auto& history = graph();
    auto held = history.ancestry(current);
    std::set<std::string> seen;
    Ids heads = current;
    for (const auto& id : plan) {
        fuzz::require(history.contains(id), "a plan names revisions of the graph");
        fuzz::require(seen.insert(id).second, "a plan moves each revision once");
        fuzz::require(upgrade ? !held.count(id) : held.count(id) != 0,
                      upgrade ? "an upgrade applies nothing the database holds" : "a downgrade undoes what it holds");
        heads = upgrade ? history.heads_after_upgrade(heads, id) : history.heads_after_downgrade(heads, id);
    }
    for (const auto& head : heads) fuzz::require(history.contains(head), "a plan ends at revisions of the graph");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string spec(reinterpret_cast<const char*>(data), size);
    const auto& history = graph();
    for (const Ids& current : {Ids{}, Ids{"bbbb02"}, Ids{"bbbb01", "cccc02"}, Ids{"dddd01", "zzzz01"}}) {
        Ids plan;
        if (fuzz::succeeds<MigrationError>([&] { plan = history.upgrade_plan_to(spec, current); })) {
            check_plan(plan, current, true);
        }
        if (fuzz::succeeds<MigrationError>([&] { plan = history.downgrade_plan_to(spec, current); })) {
            check_plan(plan, current, false);
        }
        Ids targets;
        if (fuzz::succeeds<MigrationError>([&] { targets = history.resolve_target(spec, current); })) {
            fuzz::succeeds<MigrationError>([&] { history.heads_after_stamp(current, targets); });
        }
        fuzz::succeeds<MigrationError>([&] { migrate::show(history, spec, current); });
        fuzz::succeeds<MigrationError>([&] { migrate::history(history, spec, current, true); });
    }
    return 0;
}
