// The factories of mat's built-in tools (each in a file of its own). Construction never throws:
// a tool that cannot work here says why through Tool::unavailable().
#pragma once

#include <memory>

#include "mat/tools/tool.h"

namespace mat::tools {

std::unique_ptr<Tool> make_ocr_tool();
std::unique_ptr<Tool> make_face_detection_tool();
std::unique_ptr<Tool> make_draw_box_tool();
std::unique_ptr<Tool> make_crop_tool();
std::unique_ptr<Tool> make_add_text_tool();
std::unique_ptr<Tool> make_web_search_tool();
std::unique_ptr<Tool> make_inspect_file_tool();

}  // namespace mat::tools
