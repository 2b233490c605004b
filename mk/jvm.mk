# JVM clients: the Java client (java/), the Scala wrapper (scala/), their conformance testees
# (tests/conformance/testees/{java,scala}), an outside consumer (examples/jvm-consumer) and a
# Spark job that logs from its driver (examples/spark-job).
#
# The protobuf Maven plugin needs Maven >= 3.9.6 and Debian ships 3.8, so the Debian Maven only
# fetches Maven 3.9 from Maven Central once, into build/maven. VERSION is the one source of the
# artifacts' version (Maven's CI-friendly ${revision}).

JVM_MAVEN_VERSION := 3.9.16
MVN       := build/maven/apache-maven-$(JVM_MAVEN_VERSION)/bin/mvn
JVM_POM   := java/pom.xml
MVN_FLAGS := -B -ntp -Drevision=$(shell cat VERSION) \
             -Dtrackwire.server=$(abspath $(VENV)/bin/trackwire)
# Rebuild the testees when any JVM source, the schema or the version changes.
JVM_SOURCES := $(shell find java scala tests/conformance/testees/java tests/conformance/testees/scala \
                 proto -type f -not -path '*/target/*' 2>/dev/null) VERSION
# What the conformance runner starts the testees from; written by every package build.
JVM_TESTEES := tests/conformance/testees/java/target/classpath.txt \
               tests/conformance/testees/scala/target/classpath.txt

.PHONY: jvm-system-packages jvm-tools jvm-deps jvm-build test-jvm install-jvm test-jvm-consumer \
        spark-job-deps test-spark-job

CI_DEPS      += jvm-deps spark-job-deps
TEST_TARGETS += test-jvm test-jvm-consumer test-spark-job

jvm-system-packages: ## JDK 17 and Debian's Maven, when missing (part of ci-deps; needs root)
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends openjdk-17-jdk-headless maven; }

jvm-tools: $(MVN) ## Maven 3.9 from Maven Central (JDK 17 and a Maven to fetch it: ci-deps)

# Run from build/: outside a project the plugin leaves its markers in a folder literally named
# after an unresolved project.basedir property, in the current directory.
$(MVN):
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  echo "JDK 17 and Maven are missing: run 'make ci-deps' as root (or install them)" >&2; exit 1; }
	mkdir -p build && cd build && mvn -B -q -ntp -Dstyle.color=never \
	  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack \
	  -Dartifact=org.apache.maven:apache-maven:$(JVM_MAVEN_VERSION):tar.gz:bin \
	  -DoutputDirectory=$(abspath build/maven)
	touch $@

# Building everything once resolves every plugin and dependency the tests need (after the
# system packages, even under make -j).
jvm-deps: jvm-system-packages ## download the JVM build's dependencies (part of ci-deps)
	$(MAKE) jvm-build

jvm-build: $(JVM_TESTEES) ## compile the JVM clients and the conformance testees (no tests)

$(JVM_TESTEES) &: $(JVM_SOURCES) | $(MVN)
	$(MVN) $(MVN_FLAGS) -q -f $(JVM_POM) -DskipTests package
	touch $(JVM_TESTEES)

test-jvm: venv $(MVN) ## JUnit 5 and ScalaTest suites against a real server
	$(MVN) $(MVN_FLAGS) -f $(JVM_POM) package
	touch $(JVM_TESTEES)

install-jvm: $(MVN) ## install io.trackwire:trackwire-client and trackwire-scala_2.13 into ~/.m2
	$(MVN) $(MVN_FLAGS) -q -f $(JVM_POM) -DskipTests install

test-jvm-consumer: venv install-jvm ## an outside Maven project logs runs; Python reads them back
	examples/jvm-consumer/check.sh $(abspath $(MVN)) $(abspath $(VENV)) $(shell cat VERSION)

# After jvm-deps, for the same reason as there (the system packages first).
spark-job-deps: jvm-deps ## download Spark (~300 MB) for the example job (part of ci-deps)
	$(MAKE) install-jvm
	$(MVN) $(MVN_FLAGS) -q -f examples/spark-job/pom.xml -Dtrackwire.version=$(shell cat VERSION) \
	  dependency:resolve

test-spark-job: venv install-jvm ## a Spark job on local[2] logs from its driver; Python reads it back
	examples/spark-job/check.sh $(abspath $(MVN)) $(abspath $(VENV)) $(shell cat VERSION)

conformance: jvm-build
