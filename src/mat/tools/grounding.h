// Boxes out of a vision-language model's grounding reply, in the forms such models really write:
//
//   Qwen2-VL <|object_ref_start|>cat<|object_ref_end|><|box_start|>(120,340),(560,910)<|box_end|>
//                 on a 0-1000 grid; servers that drop special tokens leave "cat(120,340),(560,910)"
//   JSON          [{"bbox_2d": [x1, y1, x2, y2], "label": "cat"}], bare or in a ```json fence,
//                 also {"bbox": ...}, {"box": ...}, {"boxes": [...]} and lists of 4-number lists
//   plain lists   "The cat is at [12, 30, 200, 180]." in pixels
//
// JSON and plain lists are in pixels of the image the model was shown, or fractions of it when
// every coordinate is within [0, 1].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mat/core/error.h"

namespace mat::tools {

enum class BoxFrame { kPixels, kGrid1000, kUnit };

struct GroundedBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  std::string label;  // empty when the reply named none
};

struct Grounding {
  BoxFrame frame = BoxFrame::kPixels;
  std::vector<GroundedBox> boxes;  // empty: the model said there is no such object
};

// Thrown when a reply holds no box in a known form and does not say that there is none, or holds
// a box that is not one (fewer than four numbers, x2 <= x1). The message quotes the reply.
class GroundingError : public core::Error {
 public:
  using core::Error::Error;
};

Grounding parse_grounding(std::string_view reply);

// A pixel box of the original image, [x1, y1, x2, y2].
struct PixelBox {
  int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

// `box` in pixels of the original `width` x `height` image, clipped to it. `shown_width` and
// `shown_height` are the size of the image the model saw (it may have been downscaled).
// Throws GroundingError when the box lies outside the frame the model was given.
PixelBox to_original_pixels(const GroundedBox& box, BoxFrame frame, int shown_width,
                            int shown_height, int width, int height);

}  // namespace mat::tools
