//! Starting and stopping a fake HDFS for tests, and building an hdfs-native client configured
//! for it (empty config dir, SIMPLE auth, short failover and socket timeouts).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cluster::Cluster;
use super::faults::{CallRecord, Faults};
use super::namespace::{DatanodeDescriptor, Namespace, NamespaceConfig};
use super::{datanode, datanode_ipc, namenode};

/// How to start a fake HDFS.
#[derive(Clone, Debug)]
pub struct FakeHdfsConfig {
    /// Number of DataNodes (each on its own port). At least 1.
    pub datanodes: usize,
    /// NameNode port; 0 picks a free one.
    pub namenode_port: u16,
    /// Block size, replication, listing page size, …
    pub namespace: NamespaceConfig,
}

impl Default for FakeHdfsConfig {
    fn default() -> Self {
        FakeHdfsConfig {
            datanodes: 2,
            namenode_port: 0,
            namespace: NamespaceConfig::default(),
        }
    }
}

/// A running fake HDFS (NameNode + DataNodes on 127.0.0.1).
pub struct FakeHdfs {
    url: String,
    namenode_addr: SocketAddr,
    datanode_addrs: Vec<SocketAddr>,
    cluster: Arc<Cluster>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    config_dir: tempfile::TempDir,
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

/// A unique, UUID-shaped identifier.
fn unique_id(kind: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let instance = INSTANCE.fetch_add(1, Ordering::Relaxed);
    let pid = u64::from(std::process::id());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        nanos as u32,
        (nanos >> 32) as u16,
        pid as u16,
        kind as u16,
        instance & 0xffff_ffff_ffff
    )
}

impl FakeHdfs {
    /// Starts a fake HDFS with two DataNodes and default settings.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(FakeHdfsConfig::default()).await
    }

    /// Starts a fake HDFS with the given settings.
    pub async fn start_with(config: FakeHdfsConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.datanodes >= 1,
            "a fake HDFS needs at least one DataNode"
        );
        let namenode = TcpListener::bind(("127.0.0.1", config.namenode_port))
            .await
            .with_context(|| {
                format!("binding the fake NameNode to port {}", config.namenode_port)
            })?;
        let namenode_addr = namenode.local_addr()?;
        let mut datanode_listeners = Vec::new();
        let mut ipc_listeners = Vec::new();
        let mut descriptors = Vec::new();
        for i in 0..config.datanodes {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .with_context(|| format!("binding fake DataNode {i}"))?;
            let ipc = TcpListener::bind(("127.0.0.1", 0))
                .await
                .with_context(|| format!("binding the IPC port of fake DataNode {i}"))?;
            let uuid = unique_id(i as u64);
            descriptors.push(DatanodeDescriptor {
                storage_id: format!("DS-{uuid}"),
                uuid,
                xfer_port: listener.local_addr()?.port(),
                ipc_port: ipc.local_addr()?.port(),
            });
            datanode_listeners.push(listener);
            ipc_listeners.push(ipc);
        }
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let block_pool_id = format!(
            "BP-{}-127.0.0.1-{millis}",
            INSTANCE.fetch_add(1, Ordering::Relaxed) + 1_000_000
        );
        let faults = Faults::default();
        let namespace = Namespace::new(config.namespace.clone(), block_pool_id, descriptors);
        let cluster = Arc::new(Cluster::new(namespace, faults));
        let (shutdown, shutdown_rx) = watch::channel(false);

        let mut tasks = Vec::new();
        let mut datanode_addrs = Vec::new();
        for (index, listener) in datanode_listeners.into_iter().enumerate() {
            datanode_addrs.push(listener.local_addr()?);
            tasks.push(tokio::spawn(datanode::serve(
                index,
                listener,
                Arc::clone(&cluster),
                shutdown_rx.clone(),
            )));
        }
        for (index, listener) in ipc_listeners.into_iter().enumerate() {
            tasks.push(tokio::spawn(datanode_ipc::serve(
                index,
                listener,
                Arc::clone(&cluster),
                shutdown_rx.clone(),
            )));
        }
        tasks.push(tokio::spawn(namenode::serve(
            namenode,
            Arc::clone(&cluster),
            shutdown_rx,
        )));
        let config_dir = tempfile::Builder::new()
            .prefix("fake-hdfs-conf-")
            .tempdir()
            .context("creating an empty Hadoop config dir")?;
        Ok(FakeHdfs {
            url: format!("hdfs://127.0.0.1:{}", namenode_addr.port()),
            namenode_addr,
            datanode_addrs,
            cluster,
            shutdown,
            tasks,
            config_dir,
        })
    }

    /// `hdfs://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The NameNode's address.
    pub fn namenode_addr(&self) -> SocketAddr {
        self.namenode_addr
    }

    /// The DataNodes' data-transfer addresses, by index.
    pub fn datanode_addrs(&self) -> &[SocketAddr] {
        &self.datanode_addrs
    }

    /// An empty directory to use as the client's Hadoop config dir, so a developer's
    /// `HADOOP_CONF_DIR` cannot switch on Kerberos or change timeouts.
    pub fn config_dir(&self) -> &Path {
        self.config_dir.path()
    }

    /// Client settings for tests: refused connections fail in ~0.1 s instead of ~3 min, and a
    /// stalled DataNode read times out after 5 s.
    pub fn client_config() -> Vec<(String, String)> {
        [
            ("dfs.client.failover.max.attempts", "1"),
            ("dfs.client.failover.sleep.base.millis", "50"),
            ("dfs.client.failover.sleep.max.millis", "100"),
            ("dfs.client.socket-timeout", "5000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// An hdfs-native client for this fake, configured with [`FakeHdfs::client_config`].
    pub fn client(&self) -> anyhow::Result<hdfs_native::Client> {
        self.client_with(Vec::new())
    }

    /// Like [`FakeHdfs::client`], with extra (or overriding) client settings.
    pub fn client_with(
        &self,
        extra: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<hdfs_native::Client> {
        let mut config = Self::client_config();
        config.extend(extra);
        let config_dir = self
            .config_dir
            .path()
            .to_str()
            .context("config dir path is not UTF-8")?
            .to_string();
        hdfs_native::ClientBuilder::new()
            .with_url(self.url.clone())
            .with_config_dir(config_dir)
            .with_config(config)
            .with_user("logpipe")
            .build()
            .context("building an hdfs-native client for the fake HDFS")
    }

    /// The fault switchboard, call log and protocol-error record.
    pub fn faults(&self) -> &Faults {
        &self.cluster.faults
    }

    /// Every operation served so far.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.cluster.faults.calls()
    }

    /// Protocol violations seen from the client; tests should assert this is empty.
    pub fn protocol_errors(&self) -> Vec<String> {
        self.cluster.faults.protocol_errors()
    }

    /// Puts `path` under construction with a lease held by another client, as if a crashed
    /// writer still held it ([`super::PHANTOM_LEASE_HOLDER`]).
    pub fn phantom_lease(&self, path: &str) -> anyhow::Result<()> {
        self.cluster
            .namespace()
            .phantom_lease(path)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.class, e.message))
    }

    /// The bytes of a file as stored on its DataNodes (first replica of each block, cut to
    /// the length the NameNode knows), independent of the client's read path.
    pub fn stored_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let blocks = self
            .cluster
            .namespace()
            .block_locations(path, 0, u64::MAX)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.class, e.message))?;
        let store = self.cluster.store();
        let mut out = Vec::new();
        for block in &blocks.blocks {
            let len = block.b.num_bytes.unwrap_or(0) as usize;
            let replica = block
                .locs
                .iter()
                .filter_map(|loc| self.cluster.datanode_index(&loc.id.datanode_uuid))
                .find_map(|dn| store.replica(dn, block.b.block_id))
                .with_context(|| format!("no replica of blk_{}", block.b.block_id))?;
            anyhow::ensure!(
                replica.data.len() >= len,
                "replica of blk_{} has {} bytes, NameNode expects {len}",
                block.b.block_id,
                replica.data.len()
            );
            out.extend_from_slice(&replica.data[..len]);
        }
        Ok(out)
    }

    /// For each block of a file, in order, the indexes of the DataNodes the NameNode lists as
    /// its locations.
    pub fn block_datanodes(&self, path: &str) -> anyhow::Result<Vec<Vec<usize>>> {
        let blocks = self
            .cluster
            .namespace()
            .block_locations(path, 0, u64::MAX)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.class, e.message))?;
        Ok(blocks
            .blocks
            .iter()
            .map(|block| {
                block
                    .locs
                    .iter()
                    .filter_map(|loc| self.cluster.datanode_index(&loc.id.datanode_uuid))
                    .collect()
            })
            .collect())
    }

    /// Stops every server and closes every connection.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                tracing::warn!("fake HDFS server task did not stop within 5 s");
            }
        }
    }
}

impl Drop for FakeHdfs {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}
