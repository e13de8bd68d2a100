// Escaping text for HTML and XML (SVG) documents: eval's reports and synth's dataset card both
// write them.
#pragma once

#include <string>
#include <string_view>

namespace mat::core {

// `text` with &, <, >, " and ' escaped, safe as character data and as an attribute value.
std::string escape_markup(std::string_view text);

}  // namespace mat::core
