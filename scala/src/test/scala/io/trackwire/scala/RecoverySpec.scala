package io.trackwire.scala

import io.trackwire.client.{TrackwireServer, UnavailableException}
import org.scalatest.funsuite.AnyFunSuite
import scala.util.Using

/**
 * After an outage, the first call once the server is healthy again goes through at once (no
 * multi-second backoff left over from the outage), over each wire. The bound is a generous guard
 * against such a backoff, not a timing of the client.
 */
class RecoverySpec extends AnyFunSuite {
  /** One failed call every 0.25 s: the client meets the outage for about 5 s. */
  private val outageAttempts = 20

  for (wire <- Seq("grpc", "http")) {
    test(s"the first call after an outage succeeds at once over $wire") {
      Using.resource(TrackwireServer.start()) { server =>
        Using.resource(Trackwire(if (wire == "grpc") server.grpcUri() else server.httpUri(), token = None)) { tw =>
          assert(tw.getExperiment("0").experimentId == "0")
          server.kill()
          (1 to outageAttempts).foreach { _ =>
            // createExperiment is never retried: one attempt each, as a busy client would make.
            assertThrows[UnavailableException](tw.createExperiment("during-the-outage"))
            Thread.sleep(250)
          }
          server.restart() // returns once the server says it is listening

          val started = System.nanoTime()
          assert(tw.getExperiment("0").experimentId == "0")
          val seconds = (System.nanoTime() - started) / 1e9
          println(f"scala $wire: first call after recovery: $seconds%.3f s")
          assert(seconds < 2, s"the first call after recovery took $seconds s")
        }
      }
    }
  }
}
