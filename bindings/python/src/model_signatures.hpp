#pragma once
// How the models' fields are spelled in Python: the annotation of each attribute and the
// keywords of each constructor, from the field tables (model/fields.hpp). The module's
// docstrings and the stub generator (generate_stubs.cpp, run at build time into the staged
// _core.pyi) both use these, so the stubs say what the classes do. Header-only, no Python.

#include <string>

#include "pangeo_forge/model/fields.hpp"

namespace pangeo_forge::python {

// The attribute's type, without Optional: "str", "int", "bool", "datetime", "RecipeRunStatus".
inline std::string python_type(const model::FieldDescription& field) {
    switch (field.kind) {
        case model::ValueKind::text: return "str";
        case model::ValueKind::integer: return "int";
        case model::ValueKind::boolean: return "bool";
        case model::ValueKind::timestamp: return "datetime";
        case model::ValueKind::enumeration: return field.enum_type;
    }
    return "Any";
}

inline std::string optional_of(const std::string& type) { return "Optional[" + type + "]"; }

// The attribute of a create form or a row: None only for a nullable field.
inline std::string attribute_type(const model::FieldDescription& field) {
    return field.nullable ? optional_of(python_type(field)) : python_type(field);
}

// What a constructor keyword accepts: a timestamp as a datetime or ISO 8601 text, an enum
// as a member or its spelling.
inline std::string keyword_type(const model::FieldDescription& field) {
    std::string type = python_type(field);
    if (field.kind == model::ValueKind::timestamp || field.kind == model::ValueKind::enumeration) {
        type = "Union[" + type + ", str]";
    }
    return field.nullable ? optional_of(type) : type;
}

enum class PythonForm { create, row, update };

// How a keyword's default is written: "..." in a stub; the value itself in a docstring.
enum class Spelling { stub, doc };

// A default as Python writes it: None, False, 'queued'.
inline std::string python_literal(const nlohmann::json& value) {
    if (value.is_null()) return "None";
    if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
    if (value.is_string()) return "'" + value.get<std::string>() + "'";
    return value.dump();
}

// The keyword-only parameters of a form's constructor: "*, region: str, name: str, ...".
// A create or a row may leave out what the create may; an update may leave out anything
// (a docstring then shows no default: a field not given is not changed).
inline std::string keywords(const model::ModelDescription& model, PythonForm form, Spelling spelling) {
    std::string text = "*";
    if (form == PythonForm::row) text += ", id: int";
    for (const auto& field : model.fields) {
        if (form == PythonForm::update && !field.updatable) continue;
        text += ", " + field.name + ": " + keyword_type(field);
        if (spelling == Spelling::stub && (form == PythonForm::update || field.create_may_omit)) {
            text += " = ...";
        } else if (spelling == Spelling::doc && form != PythonForm::update && field.create_may_omit) {
            text += " = " + python_literal(field.default_value);
        }
    }
    return text;
}

}  // namespace pangeo_forge::python
