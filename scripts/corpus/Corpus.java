// SPDX-License-Identifier: Apache-2.0
// Recorded corpus (JDK 17): direct-leak keeps every 64 KiB direct ByteBuffer (native memory the
// JVM mallocs) at RATE KiB/s; heap-churn makes RATE KiB/s of short-lived byte[] garbage in a
// fixed heap (-Xms = -Xmx), a bounded working set of 4096 x 4 KiB; heap-direct (probe9) fills a
// ring of 2048 x 64 KiB byte[] at RATE KiB/s (a heap that grows under -Xmx to 128 MiB, then
// holds) and beside every array a 64 KiB direct ByteBuffer kept in a ring of 64 (older ones
// dropped, their native memory released when collected): bounded. usage: java Corpus MODE RATE SECONDS
import java.nio.ByteBuffer;
import java.util.ArrayList;

public class Corpus {
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    long rate = Long.parseLong(args[1]) * 1024;
    double seconds = Double.parseDouble(args[2]);
    long t0 = System.nanoTime();
    long end = t0 + (long) (seconds * 1e9);
    ArrayList<ByteBuffer> kept = new ArrayList<>();
    byte[][] ring = new byte[4096][];
    byte[][] big = new byte[2048][];
    ByteBuffer[] direct = new ByteBuffer[64];
    long made = 0;
    int i = 0;
    while (System.nanoTime() < end) {
      long want = (long) (rate * (System.nanoTime() - t0) / 1e9);
      while (made < want) {
        if (mode.equals("direct-leak")) {
          ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
          for (int p = 0; p < b.capacity(); p += 4096) b.put(p, (byte) 1);  // resident
          kept.add(b);
          made += 64 * 1024;
        } else if (mode.equals("heap-direct")) {
          big[i % big.length] = new byte[64 * 1024];
          for (int p = 0; p < 64 * 1024; p += 4096) big[i % big.length][p] = 1;
          ByteBuffer b = ByteBuffer.allocateDirect(64 * 1024);
          for (int p = 0; p < b.capacity(); p += 4096) b.put(p, (byte) 1);
          direct[i++ % direct.length] = b;
          made += 64 * 1024;
        } else {
          ring[i++ % ring.length] = new byte[4096];
          made += 4096;
        }
      }
      Thread.sleep(20);
    }
    System.out.println(mode + ": " + kept.size() + " direct buffers kept");
  }
}
