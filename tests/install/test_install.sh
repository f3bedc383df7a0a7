#!/usr/bin/env bash
# `cmake --install` puts the library, headers, binary, pkg-config file and CMake package in
# a prefix; a separate project then builds against it with find_package(subq) and with
# pkg-config, and its program runs.
set -eu
build=$1; here=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cmake --install "$build" --prefix "$T/prefix" > "$T/install.log"
for f in bin/subq include/subq.h include/subq/core.h lib/pkgconfig/subq.pc lib/cmake/subq/subqConfig.cmake; do
  [ -e "$T/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
mkdir "$T/app"
cp "$here/consumer.c" "$T/app/"
cat > "$T/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(subq REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE subq::subq)
CM
cmake -S "$T/app" -B "$T/app/build" -DCMAKE_PREFIX_PATH="$T/prefix" > "$T/cfg.log" 2>&1 || { cat "$T/cfg.log"; exit 1; }
cmake --build "$T/app/build" > "$T/bld.log" 2>&1 || { cat "$T/bld.log"; exit 1; }
out=$("$T/app/build/consumer")
echo "$out"
# The value is Philox4x32-10 through Box-Muller, as in the library: just check it ran and
# printed the installed version.
echo "$out" | grep -q "^subq [0-9]" || { echo "FAIL: consumer output"; exit 1; }
PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig" pkg-config --cflags --libs subq | grep -q -- "-lsubq" \
  || { echo "FAIL: pkg-config subq"; exit 1; }
echo "1 passed, 0 failed"
