#pragma once
// The enumerations of the data model, spelled in JSON and in the database exactly as
// the Python service spells them ("in_progress", "timed_out", ...).
//
// Thread safety: pure functions over immutable tables.

#include <optional>
#include <string_view>
#include <vector>

namespace pangeo_forge::model {

// Mirrors GitHub's check-run status.
enum class RecipeRunStatus { queued, in_progress, completed };

// Mirrors GitHub's check-run conclusion.
enum class RecipeRunConclusion { action_required, cancelled, failure, neutral, success, skipped, stale, timed_out };

enum class DatasetType { zarr, kerchunk, parquet };

enum class RepoProvider { github };

std::string_view to_string(RecipeRunStatus value);
std::string_view to_string(RecipeRunConclusion value);
std::string_view to_string(DatasetType value);
std::string_view to_string(RepoProvider value);

// Every spelling of an enum, in declaration order.
template <class Enum>
const std::vector<std::string_view>& enum_names();

// The value spelled `text`, or std::nullopt.
template <class Enum>
std::optional<Enum> parse_enum(std::string_view text);

}  // namespace pangeo_forge::model
