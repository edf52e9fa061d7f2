//! The DHCPv6 server socket: UDP port 547, joined to All_DHCP_Relay_Agents_and_Servers
//! (ff02::1:2, RFC 8415 §7.1) on each configured interface, receiving with IPV6_PKTINFO so that
//! the driver knows whether a packet was sent to the multicast group or to one of our unicast
//! addresses (RFC 8415 §16: some messages must arrive by multicast, others get UseMulticast).

use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket as StdUdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn6};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Largest datagram read; a larger one is truncated and then dropped as malformed.
pub const MAX_DATAGRAM: usize = 65_535;

/// One received datagram.
#[derive(Debug)]
pub struct Datagram {
    /// The sender (client or relay agent), with the scope of a link-local address.
    pub from: SocketAddrV6,
    /// The destination address the packet was sent to, when the kernel told us.
    pub to: Option<Ipv6Addr>,
    /// Receiving interface index, when known.
    pub ifindex: Option<u32>,
    /// The payload.
    pub bytes: Vec<u8>,
    /// The datagram was larger than [`MAX_DATAGRAM`] and was cut.
    pub truncated: bool,
}

impl Datagram {
    /// Sent to one of our unicast addresses rather than to a multicast group.
    pub fn unicast(&self) -> bool {
        self.to.is_some_and(|a| !a.is_multicast())
    }
}

/// The bound server socket.
#[derive(Debug)]
pub struct DhcpSocket {
    sock: UdpSocket,
}

/// A socket could not be set up; the message names the step and the address or interface.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl DhcpSocket {
    /// Bind `[bind]:port` and join ff02::1:2 on each of `interfaces` (by name).
    pub fn bind(
        bind: Ipv6Addr,
        port: u16,
        interfaces: &[String],
    ) -> Result<DhcpSocket, SetupError> {
        let addr = SocketAddr::from((bind, port));
        let std = StdUdpSocket::bind(addr)
            .map_err(|e| SetupError(format!("cannot bind the DHCPv6 socket to {addr}: {e}")))?;
        std.set_nonblocking(true)
            .map_err(|e| SetupError(format!("DHCPv6 socket {addr}: {e}")))?;
        setsockopt(&std, sockopt::Ipv6RecvPacketInfo, &true)
            .map_err(|e| SetupError(format!("DHCPv6 socket {addr}: IPV6_RECVPKTINFO: {e}")))?;
        for name in interfaces {
            let index = nix::net::if_::if_nametoindex(name.as_str())
                .map_err(|e| SetupError(format!("interface {name:?} (dhcp.interfaces): {e}")))?;
            std.join_multicast_v6(&ALL_DHCP_RELAY_AGENTS_AND_SERVERS, index)
                .map_err(|e| {
                    SetupError(format!(
                        "joining {ALL_DHCP_RELAY_AGENTS_AND_SERVERS} on {name:?}: {e}"
                    ))
                })?;
        }
        let sock = UdpSocket::from_std(std)
            .map_err(|e| SetupError(format!("DHCPv6 socket {addr}: {e}")))?;
        Ok(DhcpSocket { sock })
    }

    /// The bound address (the real port when bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Receive one datagram with its destination address.
    pub async fn recv(&self) -> io::Result<Datagram> {
        self.sock
            .async_io(Interest::READABLE, || {
                let mut buf = vec![0u8; MAX_DATAGRAM + 1];
                let (n, from, to, ifindex) = {
                    let mut iov = [io::IoSliceMut::new(&mut buf)];
                    let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo);
                    let msg = recvmsg::<SockaddrIn6>(
                        self.sock.as_raw_fd(),
                        &mut iov,
                        Some(&mut cmsg),
                        MsgFlags::empty(),
                    )
                    .map_err(io::Error::from)?;
                    let mut to = None;
                    let mut ifindex = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::Ipv6PacketInfo(pi) = c {
                                to = Some(Ipv6Addr::from(pi.ipi6_addr.s6_addr));
                                ifindex = Some(pi.ipi6_ifindex);
                            }
                        }
                    }
                    let from = msg
                        .address
                        .map(SocketAddrV6::from)
                        .ok_or_else(|| io::Error::other("datagram without a sender"))?;
                    (msg.bytes, from, to, ifindex)
                };
                let truncated = n > MAX_DATAGRAM;
                buf.truncate(n.min(MAX_DATAGRAM));
                Ok(Datagram {
                    from,
                    to,
                    ifindex,
                    bytes: buf,
                    truncated,
                })
            })
            .await
    }

    /// Send `bytes` to `to`.
    pub async fn send_to(&self, bytes: &[u8], to: SocketAddrV6) -> io::Result<usize> {
        self.sock.send_to(bytes, to).await
    }
}
