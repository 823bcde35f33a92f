# Removes the target-cpu, target-features and tune-cpu function attributes
# from a textual LLVM IR file: cmake -DIN=a.ll -DOUT=b.ll -P StripTarget.cmake
file(READ ${IN} ir)
string(REGEX REPLACE " ?\"(target-cpu|target-features|tune-cpu)\"=\"[^\"]*\"" "" ir "${ir}")
file(WRITE ${OUT} "${ir}")
