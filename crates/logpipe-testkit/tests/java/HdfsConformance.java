// Conformance checks of the fake HDFS, driven by Apache Hadoop's own Java client
// (org.apache.hadoop.fs.FileSystem). Compiled and run by tests/hdfs_java_conformance.rs.
//
// Usage: java HdfsConformance <hdfs-url> <scenario> [key=value ...]
//   scenario "suite": FileSystem semantics (namespace, write/read, listing, concurrency), each
//     checked against Hadoop's FileSystem specification (filesystem/filesystem.md) and HDFS's
//     documented behaviour, not against what the fake does.
//   scenario "write": writes path= (size=, seed=, piece=) and reads it back; expect=fail
//     means the write must fail instead (e.g. the only DataNode of the pipeline fails).
//   key conf.NAME=VALUE sets a client configuration value.
//
// Prints one line per check: "ok NAME" or "FAIL NAME: why", then "done OK FAILED".

import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import java.security.MessageDigest;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.ContentSummary;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileChecksum;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.ParentNotDirectoryException;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.io.DataOutputBuffer;
import org.apache.hadoop.io.MD5Hash;
import org.apache.hadoop.ipc.RemoteException;
import org.apache.hadoop.security.UserGroupInformation;

public final class HdfsConformance {
    static final int MIB = 1024 * 1024;

    interface Body {
        void run() throws Exception;
    }

    static int passed = 0;
    static int failed = 0;

    static void check(String name, Body body) {
        try {
            body.run();
            System.out.println("ok " + name);
            passed++;
        } catch (Throwable t) {
            System.out.println("FAIL " + name + ": " + describe(t));
            failed++;
        }
        System.out.flush();
    }

    static String describe(Throwable t) {
        StringBuilder out = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (out.length() > 0) {
                out.append(" <- caused by ");
            }
            out.append(c.getClass().getName()).append(": ").append(c.getMessage());
            if (c instanceof RemoteException) {
                out.append(" [remote class ").append(((RemoteException) c).getClassName()).append("]");
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return out.toString().replace('\n', ' ');
    }

    static void expect(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    static void expectEq(Object expected, Object actual, String what) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + actual);
        }
    }

    /** The class name of an exception as the NameNode raised it. */
    static String remoteClass(Throwable t) {
        return t instanceof RemoteException ? ((RemoteException) t).getClassName() : t.getClass().getName();
    }

    /** Runs body and returns what it throws; fails if it throws nothing. */
    static Throwable thrown(Body body, String what) throws Exception {
        try {
            body.run();
        } catch (Throwable t) {
            return t;
        }
        throw new AssertionError(what + ": nothing was thrown");
    }

    static void expectThrows(Class<? extends Throwable> expected, Body body, String what) throws Exception {
        Throwable t = thrown(body, what);
        if (!expected.isInstance(t)) {
            throw new AssertionError(what + ": expected " + expected.getName() + ", got " + describe(t));
        }
    }

    /** The exception's class, or the class of the remote exception it carries, is `className`. */
    static void expectRemote(String className, Body body, String what) throws Exception {
        Throwable t = thrown(body, what);
        if (!remoteClass(t).equals(className) && !(t.getClass().getName().equals(className))) {
            throw new AssertionError(what + ": expected " + className + ", got " + describe(t));
        }
    }

    /** The same bytes as tests/common/mod.rs `payload(len, seed)`. */
    static byte[] payload(int len, long seed) {
        long state = seed * 6364136223846793005L + 1442695040888963407L;
        byte[] out = new byte[len];
        for (int i = 0; i < len; i++) {
            state = state * 6364136223846793005L + 1442695040888963407L;
            out[i] = (byte) (state >>> 33);
        }
        return out;
    }

    static void write(FileSystem fs, Path path, byte[] data, boolean overwrite) throws IOException {
        try (FSDataOutputStream out = fs.create(path, overwrite)) {
            out.write(data);
        }
    }

    static byte[] readAll(FileSystem fs, Path path) throws IOException {
        long length = fs.getFileStatus(path).getLen();
        byte[] out = new byte[(int) length];
        try (FSDataInputStream in = fs.open(path)) {
            in.readFully(0, out);
            expectEq(-1, in.read(length, new byte[1], 0, 1), "positioned read at EOF of " + path);
        }
        return out;
    }

    static void expectContent(FileSystem fs, Path path, byte[] expected) throws IOException {
        byte[] actual = readAll(fs, path);
        expectEq(expected.length, actual.length, "length of " + path);
        if (!Arrays.equals(expected, actual)) {
            int i = 0;
            while (expected[i] == actual[i]) {
                i++;
            }
            throw new AssertionError(path + " differs from what was written at offset " + i);
        }
    }

    static void expectRange(byte[] data, int offset, byte[] actual, String what) {
        byte[] expected = Arrays.copyOfRange(data, offset, offset + actual.length);
        if (!Arrays.equals(expected, actual)) {
            throw new AssertionError(what + ": bytes at offset " + offset + " differ");
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: HdfsConformance <hdfs-url> <scenario> [key=value ...]");
            System.exit(2);
        }
        String url = args[0];
        String scenario = args[1];
        Map<String, String> options = new HashMap<>();
        Configuration conf = new Configuration();
        conf.set("fs.defaultFS", url);
        conf.setLong("dfs.blocksize", MIB);
        conf.setInt("dfs.replication", 2);
        conf.setInt("ipc.client.connect.max.retries", 1);
        conf.setInt("ipc.client.connect.max.retries.on.timeouts", 1);
        conf.setInt("dfs.client.socket-timeout", 20000);
        conf.setBoolean("fs.hdfs.impl.disable.cache", true);
        for (int i = 2; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            if (kv.length != 2) {
                System.err.println("bad argument " + args[i]);
                System.exit(2);
            }
            if (kv[0].startsWith("conf.")) {
                conf.set(kv[0].substring(5), kv[1]);
            } else {
                options.put(kv[0], kv[1]);
            }
        }
        FileSystem fs = FileSystem.get(new URI(url), conf);
        try {
            switch (scenario) {
                case "suite":
                    suite(fs, conf, url);
                    break;
                case "write":
                    writeScenario(fs, options);
                    break;
                default:
                    System.err.println("unknown scenario " + scenario);
                    System.exit(2);
            }
        } finally {
            try {
                fs.close();
            } catch (IOException e) {
                System.out.println("FAIL filesystem closes: " + describe(e));
                failed++;
            }
        }
        System.out.println("done " + passed + " " + failed);
        System.out.flush();
        System.exit(0);
    }

    // ------------------------------------------------------------------------------------------
    // "write": one file through a (possibly faulty) pipeline
    // ------------------------------------------------------------------------------------------

    static void writeScenario(FileSystem fs, Map<String, String> options) throws Exception {
        Path path = new Path(options.get("path"));
        int size = Integer.parseInt(options.getOrDefault("size", String.valueOf(3 * MIB + 4321)));
        long seed = Long.parseLong(options.getOrDefault("seed", "1"));
        int piece = Integer.parseInt(options.getOrDefault("piece", "100000"));
        long hflushEvery = Long.parseLong(options.getOrDefault("hflush_every", "0"));
        boolean expectFailure = "fail".equals(options.get("expect"));
        byte[] data = payload(size, seed);
        if (expectFailure) {
            check("write through a pipeline that cannot be recovered fails", () -> {
                Throwable t = thrown(() -> {
                    try (FSDataOutputStream out = fs.create(path, true)) {
                        for (int off = 0; off < data.length; off += piece) {
                            out.write(data, off, Math.min(piece, data.length - off));
                        }
                    }
                }, "write of " + path);
                expect(t instanceof IOException, "the write fails with an IOException: " + describe(t));
                System.out.println("info write failure: " + describe(t));
            });
            return;
        }
        check("write " + path + " through the pipeline", () -> {
            long sinceFlush = 0;
            try (FSDataOutputStream out = fs.create(path, true)) {
                for (int off = 0; off < data.length; off += piece) {
                    int len = Math.min(piece, data.length - off);
                    out.write(data, off, len);
                    sinceFlush += len;
                    if (hflushEvery > 0 && sinceFlush >= hflushEvery) {
                        out.hflush();
                        sinceFlush = 0;
                    }
                }
            }
        });
        check("read back " + path + " equals what was written", () -> expectContent(fs, path, data));
        check("getFileStatus of " + path + " reports the written length",
                () -> expectEq((long) size, fs.getFileStatus(path).getLen(), "length"));
    }

    // ------------------------------------------------------------------------------------------
    // "suite"
    // ------------------------------------------------------------------------------------------

    static void suite(FileSystem fs, Configuration conf, String url) throws Exception {
        expect(fs instanceof DistributedFileSystem, "hdfs:// is served by DistributedFileSystem");
        DistributedFileSystem dfs = (DistributedFileSystem) fs;
        Path base = new Path("/conformance");
        String user = UserGroupInformation.getCurrentUser().getShortUserName();

        // --- mkdirs -------------------------------------------------------------------------
        Path m = new Path(base, "m");
        check("mkdirs creates missing parents", () -> {
            expect(fs.mkdirs(new Path(m, "a/b")), "mkdirs returns true");
            expect(fs.getFileStatus(new Path(m, "a")).isDirectory(), "parent is a directory");
            expect(fs.getFileStatus(new Path(m, "a/b")).isDirectory(), "leaf is a directory");
        });
        check("mkdirs of an existing directory returns true",
                () -> expect(fs.mkdirs(new Path(m, "a/b")), "mkdirs returns true"));
        check("mkdirs onto a file fails with FileAlreadyExistsException", () -> {
            write(fs, new Path(m, "file"), new byte[] {1, 2, 3}, false);
            expectThrows(FileAlreadyExistsException.class, () -> fs.mkdirs(new Path(m, "file")), "mkdirs");
            expect(fs.getFileStatus(new Path(m, "file")).isFile(), "the file is still a file");
        });
        check("mkdirs below a file fails with ParentNotDirectoryException",
                () -> expectThrows(ParentNotDirectoryException.class,
                        () -> fs.mkdirs(new Path(m, "file/sub")), "mkdirs"));
        check("mkdirs applies the requested permission (less the umask)", () -> {
            Path p = new Path(m, "private");
            expect(fs.mkdirs(p, new FsPermission((short) 0700)), "mkdirs returns true");
            expectEq((short) 0700, fs.getFileStatus(p).getPermission().toShort(), "permission");
        });

        // --- getFileStatus / exists -----------------------------------------------------------
        Path s = new Path(base, "s");
        byte[] sData = payload(1234, 7);
        check("getFileStatus of a missing path throws FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class,
                        () -> fs.getFileStatus(new Path(s, "missing")), "getFileStatus"));
        check("getFileStatus of a file reports its attributes", () -> {
            long before = System.currentTimeMillis();
            Path p = new Path(s, "f");
            write(fs, p, sData, false);
            FileStatus st = fs.getFileStatus(p);
            expect(st.isFile() && !st.isDirectory(), "a file");
            expectEq(1234L, st.getLen(), "length");
            expectEq((short) 2, st.getReplication(), "replication");
            expectEq((long) MIB, st.getBlockSize(), "block size");
            expectEq(user, st.getOwner(), "owner");
            expect(!st.getGroup().isEmpty(), "has a group");
            expectEq((short) 0644, st.getPermission().toShort(), "permission (0666 less umask 022)");
            expectEq(fs.makeQualified(p), st.getPath(), "path");
            expect(Math.abs(st.getModificationTime() - before) < 600_000,
                    "modification time " + st.getModificationTime() + " is about now (" + before + ")");
        });
        check("getFileStatus of a directory and of the root", () -> {
            expect(fs.getFileStatus(s).isDirectory(), "a directory");
            expect(fs.getFileStatus(new Path("/")).isDirectory(), "the root is a directory");
            expectEq(0L, fs.getFileStatus(s).getLen(), "directory length");
        });
        check("exists is false for a missing path and true for files and directories", () -> {
            expect(!fs.exists(new Path(s, "missing")), "missing");
            expect(fs.exists(new Path(s, "f")), "file");
            expect(fs.exists(s), "directory");
        });

        // --- create ---------------------------------------------------------------------------
        Path c = new Path(base, "c");
        check("create without overwrite onto a file fails with FileAlreadyExistsException", () -> {
            Path p = new Path(c, "f");
            byte[] data = payload(100, 8);
            write(fs, p, data, false);
            expectThrows(FileAlreadyExistsException.class, () -> fs.create(p, false), "create");
            expectContent(fs, p, data);
        });
        check("create with overwrite replaces the file", () -> {
            Path p = new Path(c, "f");
            byte[] data = payload(50, 9);
            write(fs, p, data, true);
            expectContent(fs, p, data);
        });
        check("create onto a directory fails with FileAlreadyExistsException", () -> {
            fs.mkdirs(new Path(c, "dir"));
            expectThrows(FileAlreadyExistsException.class, () -> fs.create(new Path(c, "dir"), true), "create");
            expect(fs.getFileStatus(new Path(c, "dir")).isDirectory(), "still a directory");
        });
        check("create below a file fails with ParentNotDirectoryException",
                () -> expectThrows(ParentNotDirectoryException.class,
                        () -> fs.create(new Path(c, "f/below"), true), "create"));
        check("createNonRecursive with a missing parent fails with FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class,
                        () -> fs.createNonRecursive(new Path(c, "nodir/f"), false, 4096, (short) 2, MIB, null),
                        "createNonRecursive"));
        check("create makes missing parent directories", () -> {
            write(fs, new Path(c, "deep/er/f"), new byte[] {42}, false);
            expect(fs.getFileStatus(new Path(c, "deep/er")).isDirectory(), "parent created");
        });
        check("an empty file has length 0 and reads EOF at once", () -> {
            Path p = new Path(c, "empty");
            fs.create(p, false).close();
            expectEq(0L, fs.getFileStatus(p).getLen(), "length");
            try (FSDataInputStream in = fs.open(p)) {
                expectEq(-1, in.read(), "read of an empty file");
            }
        });

        // --- hflush / hsync -------------------------------------------------------------------
        Path w = new Path(base, "w");
        check("hflush makes written bytes visible to new readers; hsync and close keep them", () -> {
            Path p = new Path(w, "flushed");
            byte[] data = payload(MIB + 5000, 10);
            try (FSDataOutputStream out = fs.create(p, false)) {
                out.write(data, 0, 1000);
                out.hflush();
                try (FSDataInputStream in = fs.open(p)) {
                    byte[] seen = new byte[1000];
                    in.readFully(0, seen);
                    expectRange(data, 0, seen, "after hflush");
                    expectEq(-1, in.read(1000, new byte[1], 0, 1), "nothing visible past the flushed length");
                }
                // 1000 is not a multiple of the 512-byte checksum chunk: the client re-sends the
                // partial chunk with the next packet.
                out.write(data, 1000, 3000);
                out.hsync();
                try (FSDataInputStream in = fs.open(p)) {
                    byte[] seen = new byte[4000];
                    in.readFully(0, seen);
                    expectRange(data, 0, seen, "after hsync");
                }
                out.write(data, 4000, data.length - 4000);
            }
            expectEq((long) data.length, fs.getFileStatus(p).getLen(), "length after close");
            expectContent(fs, p, data);
        });

        // --- multi-block file, reads -----------------------------------------------------------
        Path big = new Path(w, "big");
        byte[] bigData = payload(2 * MIB + MIB / 2 + 123, 11);
        check("a multi-block file is written in block-size blocks", () -> {
            try (FSDataOutputStream out = fs.create(big, false)) {
                for (int off = 0; off < bigData.length; off += 65543) {
                    out.write(bigData, off, Math.min(65543, bigData.length - off));
                }
            }
            FileStatus st = fs.getFileStatus(big);
            expectEq((long) bigData.length, st.getLen(), "length");
            BlockLocation[] blocks = fs.getFileBlockLocations(st, 0, st.getLen());
            expectEq(3, blocks.length, "number of blocks");
            for (int i = 0; i < 3; i++) {
                expectEq((long) i * MIB, blocks[i].getOffset(), "offset of block " + i);
                long expectedLength = i < 2 ? MIB : bigData.length - 2L * MIB;
                expectEq(expectedLength, blocks[i].getLength(), "length of block " + i);
                expectEq(2, blocks[i].getHosts().length, "replicas of block " + i);
            }
        });
        check("a sequential read returns the bytes written, then EOF", () -> {
            byte[] back = new byte[bigData.length];
            int at = 0;
            try (FSDataInputStream in = fs.open(big)) {
                while (true) {
                    int n = in.read(back, at, Math.min(7777, back.length - at));
                    if (n < 0) {
                        break;
                    }
                    at += n;
                    if (at == back.length) {
                        expectEq(-1, in.read(), "read at EOF");
                        break;
                    }
                }
                expectEq((long) bigData.length, in.getPos(), "position at EOF");
            }
            expectEq(bigData.length, at, "bytes read");
            expect(Arrays.equals(bigData, back), "content equals what was written");
        });
        check("positioned reads return the bytes at their offset and leave the position alone", () -> {
            try (FSDataInputStream in = fs.open(big)) {
                in.seek(10);
                int[][] ranges = {{0, 100}, {MIB - 100, 300}, {2 * MIB + 1000, 5000}, {bigData.length - 10, 10}};
                for (int[] r : ranges) {
                    byte[] buf = new byte[r[1]];
                    in.readFully(r[0], buf);
                    expectRange(bigData, r[0], buf, "pread at " + r[0]);
                }
                expectEq(10L, in.getPos(), "position after positioned reads");
                expectEq(-1, in.read(bigData.length + 5L, new byte[4], 0, 4), "pread past EOF");
                expectThrows(EOFException.class, () -> in.readFully(bigData.length - 5L, new byte[10]),
                        "readFully across EOF");
            }
        });
        check("seek moves the read position; seek past EOF throws EOFException", () -> {
            try (FSDataInputStream in = fs.open(big)) {
                in.seek(MIB + 5);
                byte[] buf = new byte[100];
                in.readFully(buf);
                expectRange(bigData, MIB + 5, buf, "after seek forward");
                in.seek(3);
                in.readFully(buf);
                expectRange(bigData, 3, buf, "after seek back");
                expectThrows(EOFException.class, () -> in.seek(bigData.length + 1L), "seek past EOF");
            }
        });
        check("open of a missing file throws FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class, () -> fs.open(new Path(w, "missing")).close(), "open"));
        check("open of a directory throws FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class, () -> fs.open(w).read(), "open"));

        // --- rename ---------------------------------------------------------------------------
        Path r = new Path(base, "r");
        fs.mkdirs(r);
        check("rename of a file moves it", () -> {
            byte[] data = payload(300, 12);
            write(fs, new Path(r, "a"), data, false);
            expect(fs.rename(new Path(r, "a"), new Path(r, "b")), "rename returns true");
            expect(!fs.exists(new Path(r, "a")), "source is gone");
            expectContent(fs, new Path(r, "b"), data);
        });
        check("rename onto an existing file returns false and changes nothing (HDFS)", () -> {
            byte[] one = payload(10, 13);
            byte[] two = payload(20, 14);
            write(fs, new Path(r, "one"), one, false);
            write(fs, new Path(r, "two"), two, false);
            expect(!fs.rename(new Path(r, "one"), new Path(r, "two")), "rename returns false");
            expectContent(fs, new Path(r, "one"), one);
            expectContent(fs, new Path(r, "two"), two);
        });
        check("rename onto an existing directory moves the source into it", () -> {
            fs.mkdirs(new Path(r, "into"));
            expect(fs.rename(new Path(r, "one"), new Path(r, "into")), "rename returns true");
            expect(fs.getFileStatus(new Path(r, "into/one")).isFile(), "now below the directory");
            expect(!fs.exists(new Path(r, "one")), "source is gone");
        });
        check("rename into a missing directory returns false (HDFS)", () -> {
            expect(!fs.rename(new Path(r, "two"), new Path(r, "nodir/two")), "rename returns false");
            expect(fs.exists(new Path(r, "two")), "source still there");
            expect(!fs.exists(new Path(r, "nodir")), "no directory was created");
        });
        check("rename of a missing source returns false (HDFS)",
                () -> expect(!fs.rename(new Path(r, "ghost"), new Path(r, "ghost2")), "rename returns false"));
        check("rename of a file onto itself returns true",
                () -> expect(fs.rename(new Path(r, "two"), new Path(r, "two")), "rename returns true"));
        check("rename of a directory onto itself returns true (HDFS)", () -> {
            fs.mkdirs(new Path(r, "self"));
            expect(fs.rename(new Path(r, "self"), new Path(r, "self")), "rename returns true");
            expect(fs.getFileStatus(new Path(r, "self")).isDirectory(), "still a directory");
            expect(!fs.exists(new Path(r, "self/self")), "not moved into itself");
        });
        check("rename of a directory moves its subtree", () -> {
            write(fs, new Path(r, "tree/x/leaf"), new byte[] {5}, false);
            expect(fs.rename(new Path(r, "tree"), new Path(r, "moved")), "rename returns true");
            expect(!fs.exists(new Path(r, "tree")), "source is gone");
            expectContent(fs, new Path(r, "moved/x/leaf"), new byte[] {5});
        });
        check("rename of a directory below itself returns false", () -> {
            expect(!fs.rename(new Path(r, "moved"), new Path(r, "moved/x/inside")), "rename returns false");
            expect(fs.exists(new Path(r, "moved/x/leaf")), "subtree unchanged");
        });
        check("rename with OVERWRITE replaces an existing file", () -> {
            byte[] data = payload(77, 15);
            write(fs, new Path(r, "src"), data, false);
            write(fs, new Path(r, "dst"), new byte[] {1}, false);
            dfs.rename(new Path(r, "src"), new Path(r, "dst"), Options.Rename.OVERWRITE);
            expect(!fs.exists(new Path(r, "src")), "source is gone");
            expectContent(fs, new Path(r, "dst"), data);
        });
        check("rename without OVERWRITE onto an existing file throws FileAlreadyExistsException", () -> {
            write(fs, new Path(r, "src2"), new byte[] {2}, false);
            expectThrows(FileAlreadyExistsException.class,
                    () -> dfs.rename(new Path(r, "src2"), new Path(r, "dst"), Options.Rename.NONE), "rename");
            expect(fs.exists(new Path(r, "src2")), "source still there");
        });
        check("rename with options into a missing directory throws FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class,
                        () -> dfs.rename(new Path(r, "src2"), new Path(r, "nodir/x"), Options.Rename.NONE),
                        "rename"));
        check("a file renamed while open keeps its writer working", () -> {
            byte[] data = payload(MIB + 999, 16);
            Path from = new Path(r, "open-from");
            Path to = new Path(r, "open-to");
            try (FSDataOutputStream out = fs.create(from, false)) {
                out.write(data, 0, 1000);
                out.hflush();
                expect(fs.rename(from, to), "rename returns true");
                out.write(data, 1000, data.length - 1000);
            }
            expect(!fs.exists(from), "old name is gone");
            expectContent(fs, to, data);
        });

        // --- delete ---------------------------------------------------------------------------
        Path d = new Path(base, "d");
        check("delete of a missing path returns false",
                () -> expect(!fs.delete(new Path(d, "missing"), true), "delete returns false"));
        check("delete of a file removes it", () -> {
            write(fs, new Path(d, "f"), new byte[] {1}, false);
            expect(fs.delete(new Path(d, "f"), false), "delete returns true");
            expect(!fs.exists(new Path(d, "f")), "gone");
        });
        check("non-recursive delete of a non-empty directory fails and deletes nothing", () -> {
            write(fs, new Path(d, "full/f"), new byte[] {1}, false);
            expectRemote("org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
                    () -> fs.delete(new Path(d, "full"), false), "delete");
            expect(fs.exists(new Path(d, "full/f")), "child still there");
        });
        check("non-recursive delete of an empty directory succeeds", () -> {
            fs.mkdirs(new Path(d, "empty"));
            expect(fs.delete(new Path(d, "empty"), false), "delete returns true");
            expect(!fs.exists(new Path(d, "empty")), "gone");
        });
        check("recursive delete removes the whole subtree", () -> {
            write(fs, new Path(d, "full/a/b/c"), payload(5000, 17), false);
            expect(fs.delete(new Path(d, "full"), true), "delete returns true");
            expect(!fs.exists(new Path(d, "full")), "directory gone");
            expectThrows(FileNotFoundException.class, () -> fs.getFileStatus(new Path(d, "full/a/b/c")), "stat");
        });

        // --- listing --------------------------------------------------------------------------
        Path l = new Path(base, "l");
        int files = 11;
        TreeSet<String> names = new TreeSet<>();
        check("listStatus returns every entry across listing pages, sorted by name", () -> {
            for (int i = 0; i < files; i++) {
                String name = String.format("file-%02d", i);
                write(fs, new Path(l, name), payload(i * 100 + 1, 100 + i), false);
                names.add(name);
            }
            fs.mkdirs(new Path(l, "sub-a"));
            write(fs, new Path(l, "sub-b/nested"), new byte[] {9, 9}, false);
            names.add("sub-a");
            names.add("sub-b");
            FileStatus[] listed = fs.listStatus(l);
            List<String> got = new ArrayList<>();
            for (FileStatus st : listed) {
                got.add(st.getPath().getName());
                expectEq(fs.makeQualified(new Path(l, st.getPath().getName())), st.getPath(), "entry path");
                if (st.getPath().getName().startsWith("file-")) {
                    int i = Integer.parseInt(st.getPath().getName().substring(5));
                    expect(st.isFile(), st.getPath() + " is a file");
                    expectEq((long) (i * 100 + 1), st.getLen(), "length of " + st.getPath());
                } else {
                    expect(st.isDirectory(), st.getPath() + " is a directory");
                }
            }
            expectEq(new ArrayList<>(names), got, "entries");
        });
        check("listStatusIterator pages through every entry", () -> {
            List<String> got = new ArrayList<>();
            RemoteIterator<FileStatus> it = fs.listStatusIterator(l);
            while (it.hasNext()) {
                got.add(it.next().getPath().getName());
            }
            expectEq(new ArrayList<>(names), got, "entries");
        });
        check("listStatus of a file returns just that file", () -> {
            FileStatus[] listed = fs.listStatus(new Path(l, "file-03"));
            expectEq(1, listed.length, "entries");
            expectEq(fs.makeQualified(new Path(l, "file-03")), listed[0].getPath(), "path");
            expectEq(301L, listed[0].getLen(), "length");
        });
        check("listStatus of a missing directory throws FileNotFoundException",
                () -> expectThrows(FileNotFoundException.class, () -> fs.listStatus(new Path(l, "missing")), "listStatus"));
        check("listFiles (not recursive) returns the directory's files with their block locations", () -> {
            List<String> got = new ArrayList<>();
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(l, false);
            while (it.hasNext()) {
                LocatedFileStatus st = it.next();
                expect(st.isFile(), st.getPath() + " is a file");
                BlockLocation[] blocks = st.getBlockLocations();
                expectEq(1, blocks.length, "blocks of " + st.getPath());
                expectEq(st.getLen(), blocks[0].getLength(), "block length of " + st.getPath());
                expectEq(2, blocks[0].getHosts().length, "replicas of " + st.getPath());
                got.add(st.getPath().getName());
            }
            expectEq(files, got.size(), "files listed: " + got);
        });
        check("listFiles (recursive) returns the files of the whole subtree", () -> {
            TreeSet<String> got = new TreeSet<>();
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(l, true);
            while (it.hasNext()) {
                LocatedFileStatus st = it.next();
                got.add(st.getPath().toUri().getPath());
            }
            expectEq(files + 1, got.size(), "files listed: " + got);
            expect(got.contains(new Path(l, "sub-b/nested").toUri().getPath()), "nested file listed: " + got);
        });
        check("listLocatedStatus returns files and directories", () -> {
            int count = 0;
            RemoteIterator<LocatedFileStatus> it = fs.listLocatedStatus(l);
            while (it.hasNext()) {
                it.next();
                count++;
            }
            expectEq(names.size(), count, "entries");
        });

        // --- attributes -------------------------------------------------------------------------
        check("setReplication of a file returns true and getFileStatus reports it", () -> {
            Path p = new Path(l, "file-01");
            expect(fs.setReplication(p, (short) 1), "setReplication returns true");
            expectEq((short) 1, fs.getFileStatus(p).getReplication(), "replication");
        });
        check("setReplication of a directory returns false",
                () -> expect(!fs.setReplication(l, (short) 1), "setReplication returns false"));
        check("setPermission and setTimes are reported by getFileStatus", () -> {
            Path p = new Path(l, "file-02");
            fs.setPermission(p, new FsPermission((short) 0600));
            fs.setTimes(p, 1_500_000_000_000L, -1);
            FileStatus st = fs.getFileStatus(p);
            expectEq((short) 0600, st.getPermission().toShort(), "permission");
            expectEq(1_500_000_000_000L, st.getModificationTime(), "modification time");
        });

        // --- append ---------------------------------------------------------------------------
        // The fake has no append: it must answer as a NameNode with append disabled does
        // (FSNamesystem.appendFile: UnsupportedOperationException with this message), leave the
        // file closed and intact, and refuse create with the APPEND flag the same way.
        check("append is refused with UnsupportedOperationException; the file stays closed and intact", () -> {
            Path p = new Path(l, "file-04");
            byte[] before = readAll(fs, p);
            Throwable t = thrown(() -> fs.append(p).close(), "append");
            expectEq(UnsupportedOperationException.class.getName(), remoteClass(t), "append answer: " + describe(t));
            expect(String.valueOf(t.getMessage()).contains(
                    "Append is not enabled on this NameNode. Use the dfs.support.append configuration option to enable it."),
                    "append message: " + t.getMessage());
            expectContent(fs, p, before);
            expect(dfs.isFileClosed(p), "the file is not left open");
            Throwable refused = thrown(() -> fs.create(p, FsPermission.getFileDefault(),
                    EnumSet.of(CreateFlag.APPEND), 4096, (short) 1, MIB, null).close(), "create(APPEND)");
            expectEq(UnsupportedOperationException.class.getName(), remoteClass(refused), "create(APPEND) answer: " + describe(refused));
            expectContent(fs, p, before);
        });

        check("getContentSummary counts files, directories, bytes and replicas", () -> {
            long length = 0, space = 0, fileCount = 0;
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(l, true);
            while (it.hasNext()) {
                LocatedFileStatus st = it.next();
                fileCount++;
                length += st.getLen();
                space += st.getLen() * st.getReplication();
            }
            ContentSummary cs = fs.getContentSummary(l);
            expectEq(fileCount, cs.getFileCount(), "file count");
            expectEq(3L, cs.getDirectoryCount(), "directory count (l, sub-a, sub-b)");
            expectEq(length, cs.getLength(), "length");
            expectEq(space, cs.getSpaceConsumed(), "space consumed");
            expectEq(-1L, cs.getQuota(), "namespace quota");
            expectEq(-1L, cs.getSpaceQuota(), "space quota");
            ContentSummary one = fs.getContentSummary(new Path(l, "file-03"));
            expectEq(1L, one.getFileCount(), "file count of a file");
            expectEq(0L, one.getDirectoryCount(), "directory count of a file");
            expectEq(301L, one.getLength(), "length of a file");
            expectThrows(FileNotFoundException.class, () -> fs.getContentSummary(new Path(l, "missing")), "missing path");
        });

        check("getFileChecksum is MD5-of-MD5-of-CRC32C over the blocks, equal for equal content", () -> {
            Path p = new Path(base, "ck/three-blocks");
            Path same = new Path(base, "ck/same");
            byte[] data = payload(2 * MIB + 1000, 21);
            write(fs, p, data, false);
            write(fs, same, data, false);
            long blockSize = fs.getFileStatus(p).getBlockSize();
            // The client concatenates the blocks' MD5s in a DataOutputBuffer and digests its
            // whole backing array (FileChecksumHelper: MD5Hash.digest(md5out.getData())).
            DataOutputBuffer blockMd5s = new DataOutputBuffer();
            for (long start = 0; start < data.length; start += blockSize) {
                int end = (int) Math.min(data.length, start + blockSize);
                MessageDigest blockMd5 = MessageDigest.getInstance("MD5");
                for (int chunk = (int) start; chunk < end; chunk += 512) {
                    CRC32C crc = new CRC32C();
                    crc.update(data, chunk, Math.min(512, end - chunk));
                    int v = (int) crc.getValue();
                    blockMd5.update(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
                }
                blockMd5s.write(blockMd5.digest());
            }
            byte[] expected = MD5Hash.digest(blockMd5s.getData()).getDigest();
            FileChecksum sum = fs.getFileChecksum(p);
            expectEq("MD5-of-" + (blockSize / 512) + "MD5-of-512CRC32C", sum.getAlgorithmName(), "algorithm");
            StringBuilder hex = new StringBuilder();
            for (byte b : expected) {
                hex.append(String.format("%02x", b & 0xff));
            }
            // MD5MD5CRC32FileChecksum.toString() is "<algorithm>:<file MD5 in hex>".
            expectEq(sum.getAlgorithmName() + ":" + hex, sum.toString(), "file MD5");
            expectEq(sum, fs.getFileChecksum(same), "checksum of the same content");
            write(fs, same, payload(2 * MIB + 1000, 22), true);
            expect(!sum.equals(fs.getFileChecksum(same)), "different content, different checksum");
        });

        // --- concurrent writers -----------------------------------------------------------------
        Path cw = new Path(base, "cw");
        check("two clients writing two files at once each produce their file", () -> {
            FileSystem other = FileSystem.newInstance(new URI(url), conf);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Void>> writers = new ArrayList<>();
                byte[][] data = {payload(MIB + MIB / 2, 19), payload(MIB + 77, 20)};
                FileSystem[] clients = {fs, other};
                for (int k = 0; k < 2; k++) {
                    final int i = k;
                    Callable<Void> writer = () -> {
                        try (FSDataOutputStream out = clients[i].create(new Path(cw, "w" + i), false)) {
                            for (int off = 0; off < data[i].length; off += 50_000) {
                                out.write(data[i], off, Math.min(50_000, data[i].length - off));
                                out.hflush();
                            }
                        }
                        return null;
                    };
                    writers.add(pool.submit(writer));
                }
                for (Future<Void> f : writers) {
                    f.get(120, TimeUnit.SECONDS);
                }
                expectContent(fs, new Path(cw, "w0"), data[0]);
                expectContent(fs, new Path(cw, "w1"), data[1]);
            } finally {
                pool.shutdownNow();
                other.close();
            }
        });
        check("a second client creating a file open for writing gets AlreadyBeingCreatedException", () -> {
            FileSystem other = FileSystem.newInstance(new URI(url), conf);
            Path p = new Path(cw, "contended");
            byte[] data = payload(5000, 21);
            try (FSDataOutputStream out = fs.create(p, false)) {
                out.write(data, 0, 2000);
                out.hflush();
                expectRemote("org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
                        () -> other.create(p, true).close(), "create by the second client");
                out.write(data, 2000, 3000);
            } finally {
                other.close();
            }
            expectContent(fs, p, data);
        });
        check("the same client re-creating its open file gets AlreadyBeingCreatedException", () -> {
            Path p = new Path(cw, "recreated");
            try (FSDataOutputStream out = fs.create(p, false)) {
                out.write(new byte[] {1, 2, 3});
                expectRemote("org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
                        () -> fs.create(p, true).close(), "second create");
            }
            expectContent(fs, p, new byte[] {1, 2, 3});
        });

        // --- the root ---------------------------------------------------------------------------
        check("recursive delete of the root returns false and deletes nothing (HDFS)", () -> {
            expect(!fs.delete(new Path("/"), true), "delete returns false");
            expect(fs.exists(new Path(l, "file-00")), "files are still there");
        });
    }
}
