// generate_stubs TEMPLATE OUTPUT: writes the type stubs of pangeo_forge._core from the
// template (pangeo_forge/_core.pyi.in), putting the model enums at "# @MODEL_ENUMS@" and
// the model classes at "# @MODEL_CLASSES@", both made from the models' field tables. The
// build runs it into the staged package, so the stubs cannot drift from the classes.
// Exits 1, saying why, when a file cannot be read or written or a marker is missing.

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include "pangeo_forge/model/fields.hpp"
#include "src/model_signatures.hpp"

namespace {

using namespace pangeo_forge;
using python::PythonForm;

std::string enums() {
    std::ostringstream out;
    std::set<std::string> written;
    for (const auto& model : model::described_models()) {
        for (const auto& field : model.fields) {
            if (field.kind != model::ValueKind::enumeration || !written.insert(field.enum_type).second) continue;
            out << "class " << field.enum_type << "(str, Enum):\n";
            for (auto name : field.enum_values) out << "    " << name << " = \"" << name << "\"\n";
            out << "\n";
        }
    }
    std::string text = out.str();
    if (!text.empty()) text.pop_back();  // the template has the blank line after the last
    return text;
}

void property(std::ostream& out, const std::string& name, const std::string& type) {
    out << "    @property\n    def " << name << "(self) -> " << type << ": ...\n";
}

void constructor(std::ostream& out, const model::ModelDescription& model, PythonForm form) {
    out << "    def __init__(self, " << python::keywords(model, form, python::Spelling::stub) << ") -> None: ...\n";
}

// _NameFields (the attributes a create, a row and a read-with-relations share), then the
// create, the row and the update; a projection is a plain value with its attributes.
std::string classes() {
    std::ostringstream out;
    for (const auto& model : model::described_models()) {
        if (!model.stored()) {
            out << "class " << model.name << "(_Value):\n";
            for (const auto& field : model.fields) property(out, field.name, python::attribute_type(field));
            out << "\n";
            continue;
        }
        out << "class _" << model.name << "Fields:\n";
        for (const auto& field : model.fields) property(out, field.name, python::attribute_type(field));
        out << "\nclass " << model.name << "Create(_Model, _" << model.name << "Fields):\n";
        constructor(out, model, PythonForm::create);
        out << "\nclass " << model.name << "(_Model, _" << model.name << "Fields, _Identified):\n";
        constructor(out, model, PythonForm::row);
        out << "\nclass " << model.name << "Update(_Model):\n";
        out << "    # Only the fields given change; an attribute not given reads None (None sets a nullable field null).\n";
        constructor(out, model, PythonForm::update);
        for (const auto& field : model.fields) {
            if (field.updatable) property(out, field.name, python::optional_of(python::python_type(field)));
        }
        out << "\n";
    }
    return out.str();
}

bool replace_marker(std::string& text, const std::string& marker, const std::string& content) {
    auto at = text.find(marker);
    if (at == std::string::npos) return false;
    auto end = at + marker.size();
    if (end < text.size() && text[end] == '\n') ++end;
    text.replace(at, end - at, content);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: generate_stubs TEMPLATE OUTPUT\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        std::cerr << "generate_stubs: cannot read the template " << argv[1] << "\n";
        return 1;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    for (const auto& [marker, content] : {std::pair<std::string, std::string>{"# @MODEL_ENUMS@", enums()},
                                         std::pair<std::string, std::string>{"# @MODEL_CLASSES@", classes()}}) {
        if (!replace_marker(text, marker, content)) {
            std::cerr << "generate_stubs: the template " << argv[1] << " lacks the marker '" << marker
                      << "'; put it where the generated part belongs\n";
            return 1;
        }
    }
    std::ofstream out(argv[2], std::ios::trunc);
    out << "# Generated from " << "_core.pyi.in" << " and the models' field tables; edit those, not this.\n" << text;
    if (!out) {
        std::cerr << "generate_stubs: cannot write " << argv[2] << "\n";
        return 1;
    }
    return 0;
}
