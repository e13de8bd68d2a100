#include "mat/teacher/pool.h"

#include <cstdio>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mat/core/error.h"
#include "mat/core/json.h"
#include "mat/teacher/draw.h"

namespace mat::teacher {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kShops{"Corner Market", "Green Grocer", "City Bakery",
                                      "Harbor Deli",   "Maple Store",  "Sunny Mart"};
const std::vector<std::string> kGoods{"apples", "bread",  "milk",   "cheese", "coffee",
                                      "rice",   "butter", "tea",    "eggs",   "honey",
                                      "pasta",  "onions", "lemons", "yogurt", "flour"};
const std::vector<std::string> kEvents{"Spring Fair", "Book Week",    "Jazz Festival",
                                       "Film Season", "Science Expo", "Craft Market",
                                       "Food Fest",   "Art Biennale"};

std::string two_digits(int value) {
  char text[16];
  std::snprintf(text, sizeof text, "%02d", value);
  return text;
}

std::string money(int cents) {
  char text[16];
  std::snprintf(text, sizeof text, "%d.%02d", cents / 100, cents % 100);
  return text;
}

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
int days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string iso_date(int days) {
  days += 719468;
  const int era = (days >= 0 ? days : days - 146096) / 146097;
  const int doe = days - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp + (mp < 10 ? 3 : -9);
  const int y = yoe + era * 400 + (m <= 2);
  return std::to_string(y) + "-" + two_digits(m) + "-" + two_digits(d);
}

PoolImage receipt(Rng& rng, PoolImage image) {
  const std::string shop = rng.pick(kShops);
  const std::vector<std::string> goods = rng.distinct(kGoods, rng.between(3, 5));
  image.lines.push_back(shop);
  for (const std::string& item : goods) {
    const int cents = rng.between(50, 1999);
    image.values.push_back(cents);
    image.lines.push_back(item + " " + money(cents));
  }
  image.lines.push_back("Thank you");
  image.caption = "A printed shop receipt from " + shop + " listing " +
                  std::to_string(goods.size()) + " items with their prices, slip number " +
                  std::to_string(image.index + 1) + ".";
  return image;
}

PoolImage poster(Rng& rng, PoolImage image) {
  const std::string event = rng.pick(kEvents);
  const int start =
      days_from_civil(rng.between(2021, 2026), rng.between(1, 12), rng.between(1, 28));
  const int days = rng.between(2, 60);
  image.values.push_back(days);
  image.lines = {event, "Opens " + iso_date(start), "Closes " + iso_date(start + days)};
  image.caption = "A poster announcing the " + event +
                  " with its opening and closing dates, poster number " +
                  std::to_string(image.index + 1) + ".";
  return image;
}

PoolImage faces(PoolImage image) {
  const int count = image.index % 5;  // every count from 0 to 4, equally often
  image.values.push_back(count);
  image.caption =
      count == 0 ? "A picture of plain coloured stripes with no people in it, picture number " +
                       std::to_string(image.index + 1) + "."
                 : "A collage of " + std::to_string(count) +
                       " portrait photos of a woman in uniform, picture number " +
                       std::to_string(image.index + 1) + ".";
  return image;
}

cv::Mat text_image(const std::vector<std::string>& lines) {
  constexpr int kLineHeight = 42;
  cv::Mat canvas(40 + kLineHeight * static_cast<int>(lines.size()), 420, CV_8UC3,
                 cv::Scalar(255, 255, 255));
  for (size_t i = 0; i < lines.size(); ++i) {
    cv::putText(canvas, lines[i], {20, 40 + kLineHeight * static_cast<int>(i)},
                cv::FONT_HERSHEY_DUPLEX, 0.9, cv::Scalar(0, 0, 0), 2, cv::LINE_AA);
  }
  return canvas;
}

cv::Mat face_collage(int count, int index) {
  constexpr int kTileWidth = 130;
  constexpr int kTileHeight = 152;
  const int tiles = std::max(count, 2);
  cv::Mat canvas(kTileHeight + 40, kTileWidth * tiles + 20 * (tiles + 1), CV_8UC3,
                 cv::Scalar(180 + (index * 7) % 60, 200, 220 - (index * 11) % 60));
  if (count == 0) {
    for (int x = 0; x < canvas.cols; x += 40) {
      cv::rectangle(canvas, {x, 0, 20, canvas.rows}, cv::Scalar(90, 140 + (x % 80), 200), -1);
    }
    return canvas;
  }
  const cv::Mat photo = cv::imread(kFacePhoto);
  if (photo.empty()) {
    throw core::Error(std::string("cannot read the face photo ") + kFacePhoto +
                      ": install python3-matplotlib (scripts/install-deps.sh)");
  }
  cv::Mat tile;
  cv::resize(photo, tile, {kTileWidth, kTileHeight}, 0, 0, cv::INTER_AREA);
  for (int i = 0; i < count; ++i) {
    tile.copyTo(canvas(cv::Rect(20 + i * (kTileWidth + 20), 20, kTileWidth, kTileHeight)));
  }
  return canvas;
}

}  // namespace

PoolImage pool_image(std::uint64_t seed, const std::string& kind, int index) {
  PoolImage image;
  image.kind = kind;
  image.index = index;
  image.file = kind + "_" + two_digits(index) + ".png";
  Rng rng(hash_of(seed, {"pool", kind, std::to_string(index)}));
  if (kind == pool_kind::kReceipt) return receipt(rng, std::move(image));
  if (kind == pool_kind::kPoster) return poster(rng, std::move(image));
  if (kind == pool_kind::kFaces) return faces(std::move(image));
  throw core::Error("unknown pool image kind \"" + kind + "\" (receipt, poster or faces)");
}

std::vector<PoolImage> pool_images(std::uint64_t seed) {
  std::vector<PoolImage> images;
  for (const char* kind : {pool_kind::kReceipt, pool_kind::kPoster, pool_kind::kFaces}) {
    for (int i = 0; i < kPoolImagesPerKind; ++i) images.push_back(pool_image(seed, kind, i));
  }
  return images;
}

void render_pool_image(const PoolImage& image, const fs::path& path) {
  const cv::Mat pixels = image.kind == pool_kind::kFaces
                             ? face_collage(image.values.at(0), image.index)
                             : text_image(image.lines);
  if (!cv::imwrite(path.string(), pixels)) throw core::Error("cannot write " + path.string());
}

int write_pool(const fs::path& dir, std::uint64_t seed) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw core::Error("cannot create " + dir.string() + ": " + error.message());
  std::ofstream captions(dir / "captions.jsonl", std::ios::trunc);
  const std::vector<PoolImage> images = pool_images(seed);
  for (const PoolImage& image : images) {
    render_pool_image(image, dir / image.file);
    captions << core::Json{{"image", image.file}, {"caption", image.caption}}.dump() << "\n";
  }
  if (!captions.flush()) throw core::Error("cannot write " + (dir / "captions.jsonl").string());
  return static_cast<int>(images.size());
}

}  // namespace mat::teacher
