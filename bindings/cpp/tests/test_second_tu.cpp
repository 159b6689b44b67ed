// Included from a second translation unit: the header-only wrapper must link without
// duplicate symbols.
#include <backendai.hpp>

std::string_view second_tu_version() { return backendai::library_version(); }
