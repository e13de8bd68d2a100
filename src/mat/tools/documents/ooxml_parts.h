// What docx, pptx and xlsx share: XML parts inside the zip, the relationships that link them, and
// text gathered from runs. Elements are matched by local name, since the namespace prefixes (w:,
// a:, p:) are only a convention.
#pragma once

#include <map>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "mat/tools/documents/zip_archive.h"

namespace mat::tools::documents {

// The part `name` parsed; throws ToolError naming `file_name` when it is missing or not XML.
pugi::xml_document parse_part(const ZipArchive& archive, std::string_view name,
                              std::string_view kind, const std::string& file_name);

// The relationships of `part` (from its _rels/*.rels): id -> part name inside the archive, for
// internal targets only.
std::map<std::string, std::string> relationships(const ZipArchive& archive, std::string_view part);
// The target of the first relationship of `part` whose type ends with `type_suffix`; "" if none.
std::string related_part(const ZipArchive& archive, std::string_view part,
                         std::string_view type_suffix);

std::string_view local_name(const pugi::xml_node& node);
// The first child / attribute with this local name (an empty handle when there is none).
pugi::xml_node child(const pugi::xml_node& node, std::string_view name);
pugi::xml_attribute attribute(const pugi::xml_node& node, std::string_view name);
// The relationship id (r:id) of `node`: an "id" with a prefix, unlike a plain numeric "id".
std::string_view relationship_id(const pugi::xml_node& node);

// The text of the runs below `node` (t elements, tabs, breaks), with `paragraph_separator` between
// paragraphs. Skips paragraph properties (tab stops), phonetic guides and the fallback copies of
// alternate content, which would repeat the text.
std::string run_text(const pugi::xml_node& node, std::string_view paragraph_separator);

}  // namespace mat::tools::documents
