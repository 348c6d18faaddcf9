#pragma once
// Everything a program that embeds pangeo_forge needs, in one include.

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/bakery.hpp"
#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/feedstock.hpp"
#include "pangeo_forge/model/recipe_run.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/schema/schema.hpp"
#include "pangeo_forge/version.hpp"
