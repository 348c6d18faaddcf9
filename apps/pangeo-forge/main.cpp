// pangeo-forge: the operator's command. The verbs live in command_line.cpp.

#include "command_line.hpp"

int main(int argc, char** argv) { return pangeo_forge::cli::run(argc, argv); }
