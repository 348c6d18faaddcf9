#pragma once
// The declared tables: bakery, feedstock and reciperun as they stand at the head of the
// migration history. The one source of truth that migrations, the guard and autogenerate
// compare a live database with. Derived from the models' field tables (model/fields.hpp).
//
// Thread safety: a pure function.

#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::model {

schema::Schema schema();

}  // namespace pangeo_forge::model
