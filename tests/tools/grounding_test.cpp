// Boxes out of grounding replies in the forms vision-language models really write, and the
// replies that are not boxes.
#include "mat/tools/grounding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mat::tools {
namespace {

using ::testing::HasSubstr;

std::string error_of(std::string_view reply) {
  try {
    parse_grounding(reply);
  } catch (const GroundingError& e) {
    return e.what();
  }
  return "";
}

TEST(Grounding, ReadsQwen2VLBoxTokensWithTheirLabels) {
  const Grounding g = parse_grounding(
      "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(100,200),(300,400)<|box_end|> and "
      "<|object_ref_start|>cat<|object_ref_end|><|box_start|>(510, 20), (990, 610)<|box_end|>");
  EXPECT_EQ(g.frame, BoxFrame::kGrid1000);
  ASSERT_EQ(g.boxes.size(), 2u);
  EXPECT_EQ(g.boxes[0].label, "dog");
  EXPECT_EQ(g.boxes[0].x1, 100);
  EXPECT_EQ(g.boxes[0].y2, 400);
  EXPECT_EQ(g.boxes[1].label, "cat");
  EXPECT_EQ(g.boxes[1].x1, 510);
  EXPECT_EQ(g.boxes[1].y2, 610);
}

// vLLM and others skip special tokens by default: what is left is the label and the points.
TEST(Grounding, ReadsQwen2VLBoxesWhoseTokensTheServerDropped) {
  const Grounding g = parse_grounding("dog(100,200),(300,400)cat(500,500),(600,700)");
  EXPECT_EQ(g.frame, BoxFrame::kGrid1000);
  ASSERT_EQ(g.boxes.size(), 2u);
  EXPECT_EQ(g.boxes[0].label, "dog");
  EXPECT_EQ(g.boxes[1].label, "cat");
  EXPECT_EQ(g.boxes[1].x2, 600);
}

TEST(Grounding, ReadsJsonBbox2dListsInAFence) {
  const Grounding g = parse_grounding(
      "Here they are:\n```json\n[\n  {\"bbox_2d\": [12, 30, 200, 180], \"label\": \"cup\"},\n"
      "  {\"bbox_2d\": [220.5, 40, 400, 190], \"label\": \"cup\"}\n]\n```");
  EXPECT_EQ(g.frame, BoxFrame::kPixels);
  ASSERT_EQ(g.boxes.size(), 2u);
  EXPECT_EQ(g.boxes[0].label, "cup");
  EXPECT_DOUBLE_EQ(g.boxes[1].x1, 220.5);
}

TEST(Grounding, ReadsOtherJsonShapes) {
  EXPECT_EQ(parse_grounding(R"({"bbox": [1, 2, 30, 40], "name": "sign"})").boxes.at(0).label,
            "sign");
  EXPECT_EQ(parse_grounding(R"({"boxes": [[1, 2, 30, 40], [5, 6, 70, 80]]})").boxes.size(), 2u);
  EXPECT_EQ(parse_grounding("[[1, 2, 30, 40], [5, 6, 70, 80], [9, 9, 99, 99]]").boxes.size(), 3u);
}

TEST(Grounding, ReadsPlainPixelListsInProse) {
  const Grounding g = parse_grounding(
      "The first car is at [10, 20, 110, 90] and the second at [200, 25, 330, 95].");
  EXPECT_EQ(g.frame, BoxFrame::kPixels);
  ASSERT_EQ(g.boxes.size(), 2u);
  EXPECT_EQ(g.boxes[1].x2, 330);
}

TEST(Grounding, CoordinatesWithinOneAreFractionsOfTheImage) {
  const Grounding g = parse_grounding("[0.1, 0.2, 0.5, 0.75]");
  EXPECT_EQ(g.frame, BoxFrame::kUnit);
  const PixelBox p = to_original_pixels(g.boxes.at(0), g.frame, 400, 200, 800, 400);
  EXPECT_EQ(p.x1, 80);
  EXPECT_EQ(p.y1, 80);
  EXPECT_EQ(p.x2, 400);
  EXPECT_EQ(p.y2, 300);
}

TEST(Grounding, AnEmptyListOrAPlainNoMeansNoObject) {
  EXPECT_TRUE(parse_grounding("[]").boxes.empty());
  EXPECT_TRUE(parse_grounding("```json\n[]\n```").boxes.empty());
  EXPECT_TRUE(parse_grounding("There is no giraffe in this image.").boxes.empty());
}

TEST(Grounding, RefusesRepliesThatHoldNoBoxesClearly) {
  const std::string error = error_of("The dog is in the lower left part of the picture.");
  EXPECT_THAT(error, HasSubstr("no boxes could be read"));
  EXPECT_THAT(error, HasSubstr("lower left part"));  // the reply is quoted
  EXPECT_THAT(error, HasSubstr("bbox_2d"));          // and the expected form named
}

TEST(Grounding, RefusesBoxesThatAreNotBoxes) {
  EXPECT_THAT(error_of(R"([{"bbox_2d": [1, 2, 3], "label": "cat"}])"),
              HasSubstr("not four numbers"));
  EXPECT_THAT(error_of("[300, 20, 100, 90]"), HasSubstr("empty or reversed"));
  EXPECT_THAT(error_of("<|box_start|>(500,500),(400,600)<|box_end|>"),
              HasSubstr("empty or reversed"));
  EXPECT_THAT(error_of(std::string(70'000, '[')), HasSubstr("not a list of boxes"));
}

TEST(Grounding, MapsEachFrameToThePixelsOfTheOriginalImage) {
  // The model saw a 640 x 320 copy of a 2000 x 1000 photo.
  const PixelBox from_pixels =
      to_original_pixels({64, 32, 320, 160, ""}, BoxFrame::kPixels, 640, 320, 2000, 1000);
  EXPECT_EQ(from_pixels.x1, 200);
  EXPECT_EQ(from_pixels.y1, 100);
  EXPECT_EQ(from_pixels.x2, 1000);
  EXPECT_EQ(from_pixels.y2, 500);
  const PixelBox from_grid =
      to_original_pixels({100, 200, 500, 1000, ""}, BoxFrame::kGrid1000, 640, 320, 2000, 1000);
  EXPECT_EQ(from_grid.x1, 200);
  EXPECT_EQ(from_grid.y1, 200);
  EXPECT_EQ(from_grid.x2, 1000);
  EXPECT_EQ(from_grid.y2, 1000);
}

TEST(Grounding, RefusesBoxesOutsideTheFrameTheModelWasGiven) {
  EXPECT_THROW(to_original_pixels({10, 10, 900, 300, ""}, BoxFrame::kPixels, 640, 320, 640, 320),
               GroundingError);
  // A pixel of overshoot is rounding, clipped to the image.
  const PixelBox clipped =
      to_original_pixels({0, 0, 641, 320, ""}, BoxFrame::kPixels, 640, 320, 640, 320);
  EXPECT_EQ(clipped.x2, 640);
}

}  // namespace
}  // namespace mat::tools
