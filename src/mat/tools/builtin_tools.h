// The factories of mat's built-in tools (each in a file of its own). Construction never throws:
// a tool that cannot work here says why through Tool::unavailable().
#pragma once

#include <memory>

#include "mat/llm/chat_model.h"
#include "mat/llm/images_client.h"
#include "mat/tools/search_backend.h"
#include "mat/tools/tool.h"

namespace mat::tools {

std::unique_ptr<Tool> make_ocr_tool();
std::unique_ptr<Tool> make_face_detection_tool();
std::unique_ptr<Tool> make_draw_box_tool();
std::unique_ptr<Tool> make_crop_tool();
std::unique_ptr<Tool> make_add_text_tool();
std::unique_ptr<Tool> make_segmentation_tool();
std::unique_ptr<Tool> make_web_search_tool(SearchBackendChoice search);
// Answers a question from what `search` finds, read by `model`.
std::unique_ptr<Tool> make_ask_search_agent_tool(SearchBackendChoice search,
                                                 std::shared_ptr<llm::ChatModel> model);
std::unique_ptr<Tool> make_visit_page_tool();
// Answers questions about a document with `model` when there is one.
std::unique_ptr<Tool> make_inspect_file_tool(std::shared_ptr<llm::ChatModel> model);

// The tools that ask a model or an endpoint are unavailable without one.
std::unique_ptr<Tool> make_visualizer_tool(std::shared_ptr<llm::ChatModel> model);
std::unique_ptr<Tool> make_object_location_tool(std::shared_ptr<llm::ChatModel> model);
std::unique_ptr<Tool> make_image_generator_tool(std::shared_ptr<llm::OpenAIImagesClient> client);
std::unique_ptr<Tool> make_image_edit_tool(std::shared_ptr<llm::OpenAIImagesClient> client);

}  // namespace mat::tools
