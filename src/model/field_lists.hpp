#pragma once
// Each model's field list (see FieldList in field_codecs.hpp), for the units that read and
// write models field by field.

#include "model/field_codecs.hpp"
#include "pangeo_forge/model/bakery.hpp"
#include "pangeo_forge/model/feedstock.hpp"
#include "pangeo_forge/model/recipe_run.hpp"

namespace pangeo_forge::model {

template <>
struct FieldList<BakeryUpdate> {
    template <class Visit>
    static void visit(Visit&& visit) {
        visit("region", &BakeryBase::region, &BakeryUpdate::region);
        visit("name", &BakeryBase::name, &BakeryUpdate::name);
        visit("description", &BakeryBase::description, &BakeryUpdate::description);
    }
};


template <>
struct FieldList<FeedstockUpdate> {
    template <class Visit>
    static void visit(Visit&& visit) {
        visit("spec", &FeedstockBase::spec, &FeedstockUpdate::spec);
        visit("provider", &FeedstockBase::provider, &FeedstockUpdate::provider);
    }
};


template <>
struct FieldList<RecipeRunUpdate> {
    template <class Visit>
    static void visit(Visit&& visit) {
        using Base = RecipeRunBase;
        using Update = RecipeRunUpdate;
        visit("recipe_id", &Base::recipe_id, &Update::recipe_id);
        visit("bakery_id", &Base::bakery_id, &Update::bakery_id);
        visit("feedstock_id", &Base::feedstock_id, &Update::feedstock_id);
        visit("head_sha", &Base::head_sha, &Update::head_sha);
        visit("version", &Base::version, &Update::version);
        visit("started_at", &Base::started_at, &Update::started_at);
        visit("completed_at", &Base::completed_at, &Update::completed_at);
        visit("conclusion", &Base::conclusion, &Update::conclusion);
        visit("status", &Base::status, &Update::status);
        visit("message", &Base::message, &Update::message);
        visit("is_test", &Base::is_test, &Update::is_test);
        visit("dataset_type", &Base::dataset_type, &Update::dataset_type);
        visit("dataset_public_url", &Base::dataset_public_url, &Update::dataset_public_url);
    }
};


}  // namespace pangeo_forge::model
