#!/bin/sh
# Starts the Java conformance testee; `make jvm-build` writes target/classpath.txt.
here=$(cd "$(dirname "$0")" && pwd)
exec java -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" io.trackwire.conformance.JavaTestee
