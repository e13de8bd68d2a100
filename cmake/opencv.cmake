# Debian ships OpenCV's headers and libraries without a CMake package for the split -dev packages;
# build an imported target from the modules mat uses.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(mat_opencv INTERFACE)
target_include_directories(mat_opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
foreach(module core imgproc imgcodecs objdetect)
  find_library(OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
  target_link_libraries(mat_opencv INTERFACE ${OPENCV_${module}_LIBRARY})
endforeach()
