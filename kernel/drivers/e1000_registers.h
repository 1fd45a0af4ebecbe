/*
 * The Intel 8254x gigabit Ethernet controllers (e1000) as software sees them:
 * register offsets in BAR0, the bits of the registers kernel/drivers/e1000.c
 * uses, and the legacy receive and transmit descriptor formats.
 *
 * Names are the mnemonics of Intel's "PCI/PCI-X Family of Gigabit Ethernet
 * Controllers Software Developer's Manual" (8254x SDM), section 13 for the
 * registers and section 3 for the descriptors, so that the code can be read
 * beside the manual; each one's comment says it in full words. Only what the
 * driver uses, or a reader of it needs to recognise, is listed. Everything
 * here holds for the 82540EM (QEMU's default NIC) and the 82545EM (VMware's
 * "e1000"); the 82541/82547 differ in EERD's layout (see E1000_EERD_*).
 *
 * Every register is 32 bits wide and is accessed with 32-bit reads and
 * writes only. The device is reached through e1000_register_read and
 * e1000_register_write (declared at the end of this file).
 */
#ifndef HARDWAY_E1000_REGISTERS_H
#define HARDWAY_E1000_REGISTERS_H

#include <stdint.h>

// ---- Register offsets in BAR0 (bytes) --------------------------------------

#define E1000_CTRL      0x0000   // device control
#define E1000_STATUS    0x0008   // device status (read-only)
#define E1000_EECD      0x0010   // EEPROM/flash control and data (bit-banged access; unused)
#define E1000_EERD      0x0014   // EEPROM read: one 16-bit word at a time, done by the device
#define E1000_CTRL_EXT  0x0018   // extended device control
#define E1000_FCAL      0x0028   // flow control address low
#define E1000_FCAH      0x002C   // flow control address high
#define E1000_FCT       0x0030   // flow control type
#define E1000_ICR       0x00C0   // interrupt cause read: reading returns the causes and clears them
#define E1000_ITR       0x00C4   // interrupt throttling (0: off)
#define E1000_ICS       0x00C8   // interrupt cause set: software raises causes (for testing)
#define E1000_IMS       0x00D0   // interrupt mask set: writing 1s enables causes; reads the mask
#define E1000_IMC       0x00D8   // interrupt mask clear: writing 1s disables causes
#define E1000_RCTL      0x0100   // receive control
#define E1000_FCTTV     0x0170   // flow control transmit timer value
#define E1000_TCTL      0x0400   // transmit control
#define E1000_TIPG      0x0410   // transmit inter-packet gap
#define E1000_RDBAL     0x2800   // receive descriptor ring base address, low 32 bits
#define E1000_RDBAH     0x2804   // receive descriptor ring base address, high 32 bits
#define E1000_RDLEN     0x2808   // receive descriptor ring length in bytes (a multiple of 128)
#define E1000_RDH       0x2810   // receive descriptor head: the next descriptor the device fills
#define E1000_RDT       0x2818   // receive descriptor tail: the device fills up to, not including, this one
#define E1000_RDTR      0x2820   // receive interrupt delay timer (0: interrupt at once)
#define E1000_RADV      0x282C   // receive interrupt absolute delay (0: off)
#define E1000_TDBAL     0x3800   // transmit descriptor ring base address, low 32 bits
#define E1000_TDBAH     0x3804   // transmit descriptor ring base address, high 32 bits
#define E1000_TDLEN     0x3808   // transmit descriptor ring length in bytes (a multiple of 128)
#define E1000_TDH       0x3810   // transmit descriptor head: the next descriptor the device sends
#define E1000_TDT       0x3818   // transmit descriptor tail: one past the last descriptor software queued
#define E1000_TIDV      0x3820   // transmit interrupt delay value (applies to descriptors with IDE)
#define E1000_RXCSUM    0x5000   // receive checksum offload control
#define E1000_MTA       0x5200   // multicast table array: 128 registers, 4096 hash bits
#define E1000_RAL(n)    (0x5400 + 8 * (n))   // receive address n, low 32 bits (bytes 0-3 of the MAC)
#define E1000_RAH(n)    (0x5404 + 8 * (n))   // receive address n, bytes 4-5 and the valid bit

#define E1000_MTA_COUNT             128
#define E1000_RECEIVE_ADDRESS_COUNT 16

// ---- CTRL: device control ---------------------------------------------------

#define E1000_CTRL_FD       (1u << 0)    // full duplex (when not resolved by the PHY)
#define E1000_CTRL_LRST     (1u << 3)    // link reset (82544 and older; must be 0)
#define E1000_CTRL_ASDE     (1u << 5)    // auto-speed detection enable
#define E1000_CTRL_SLU      (1u << 6)    // set link up: the MAC uses the link the PHY reports
#define E1000_CTRL_ILOS     (1u << 7)    // invert loss-of-signal (fiber only; must be 0 on copper)
#define E1000_CTRL_FRCSPD   (1u << 11)   // force speed (overrides the PHY's)
#define E1000_CTRL_FRCDPLX  (1u << 12)   // force duplex (overrides the PHY's)
#define E1000_CTRL_RST      (1u << 26)   // device reset: self-clearing
#define E1000_CTRL_VME      (1u << 30)   // VLAN mode enable
#define E1000_CTRL_PHY_RST  (1u << 31)   // PHY reset: held while set

// ---- STATUS: device status ---------------------------------------------------

#define E1000_STATUS_FD           (1u << 0)   // full duplex
#define E1000_STATUS_LU           (1u << 1)   // link up
#define E1000_STATUS_SPEED_SHIFT  6           // 00: 10 Mb/s, 01: 100 Mb/s, 1x: 1000 Mb/s
#define E1000_STATUS_SPEED_MASK   (3u << E1000_STATUS_SPEED_SHIFT)

// ---- EERD: EEPROM read --------------------------------------------------------
// The 82540/82544/82545/82546 layout. (The 82541 and 82547 put DONE at bit 1
// and the address at bits 2-15; hardway does not drive them.)

#define E1000_EERD_START          (1u << 0)   // software sets it to start a read
#define E1000_EERD_DONE           (1u << 4)   // the device sets it when DATA is valid
#define E1000_EERD_ADDRESS_SHIFT  8           // word address, bits 8-15
#define E1000_EERD_DATA_SHIFT     16          // the word read, bits 16-31

// The EEPROM's first three words hold the MAC address, low byte first.
#define E1000_EEPROM_MAC_ADDRESS_WORD 0

// ---- Interrupt causes: the bits of ICR, ICS, IMS and IMC ------------------------

#define E1000_INTERRUPT_TXDW    (1u << 0)   // transmit descriptor written back (a descriptor with RS is done)
#define E1000_INTERRUPT_TXQE    (1u << 1)   // transmit queue empty
#define E1000_INTERRUPT_LSC     (1u << 2)   // link status change
#define E1000_INTERRUPT_RXSEQ   (1u << 3)   // receive sequence error
#define E1000_INTERRUPT_RXDMT0  (1u << 4)   // receive descriptors below the minimum threshold (RCTL.RDMTS)
#define E1000_INTERRUPT_RXO     (1u << 6)   // receiver overrun: a frame arrived and no descriptor was free
#define E1000_INTERRUPT_RXT0    (1u << 7)   // receiver timer: a frame was received (after RDTR's delay)
#define E1000_INTERRUPT_ALL     0xFFFFFFFFu

// ---- RCTL: receive control ----------------------------------------------------

#define E1000_RCTL_EN           (1u << 1)    // receiver enable
#define E1000_RCTL_SBP          (1u << 2)    // store bad packets
#define E1000_RCTL_UPE          (1u << 3)    // unicast promiscuous
#define E1000_RCTL_MPE          (1u << 4)    // multicast promiscuous
#define E1000_RCTL_LPE          (1u << 5)    // long packet enable (frames up to 16384 bytes)
#define E1000_RCTL_LBM_MASK     (3u << 6)    // loopback mode (00: none)
#define E1000_RCTL_RDMTS_HALF   (0u << 8)    // RXDMT0 when half the descriptors are left
#define E1000_RCTL_RDMTS_MASK   (3u << 8)
#define E1000_RCTL_MO_MASK      (3u << 12)   // which destination bits index the multicast table
#define E1000_RCTL_BAM          (1u << 15)   // broadcast accept mode
#define E1000_RCTL_BSIZE_2048   (0u << 16)   // receive buffer size 2048 (with BSEX clear)
#define E1000_RCTL_BSIZE_MASK   (3u << 16)   // with BSEX clear: 00 2048, 01 1024, 10 512, 11 256
#define E1000_RCTL_VFE          (1u << 18)   // VLAN filter enable
#define E1000_RCTL_BSEX         (1u << 25)   // buffer size extension: BSIZE times 16
#define E1000_RCTL_SECRC        (1u << 26)   // strip the Ethernet CRC from received frames

// ---- TCTL and TIPG: transmit control and inter-packet gap -------------------------

#define E1000_TCTL_EN           (1u << 1)    // transmitter enable
#define E1000_TCTL_PSP          (1u << 3)    // pad short packets to 64 bytes (with CRC)
#define E1000_TCTL_CT_SHIFT     4            // collision threshold: retries before giving up (half duplex)
#define E1000_TCTL_CT_MASK      (0xFFu << E1000_TCTL_CT_SHIFT)
#define E1000_TCTL_COLD_SHIFT   12           // collision distance, in byte times (half duplex)
#define E1000_TCTL_COLD_MASK    (0x3FFu << E1000_TCTL_COLD_SHIFT)
#define E1000_TCTL_RTLC         (1u << 24)   // retransmit on late collision

#define E1000_TIPG_IPGT_SHIFT   0            // the gap between frames, in byte times
#define E1000_TIPG_IPGR1_SHIFT  10           // the part of the gap during which carrier sense may restart it
#define E1000_TIPG_IPGR2_SHIFT  20           // the whole gap after a deferral

// ---- RAH: receive address high --------------------------------------------------

#define E1000_RAH_AV            (1u << 31)   // address valid: the filter accepts this address

#define E1000_RXCSUM_IPOFLD     (1u << 8)    // verify the IPv4 header checksum of received frames
#define E1000_RXCSUM_TUOFLD     (1u << 9)    // verify the TCP or UDP checksum of received frames

// ---- Legacy receive descriptor (8254x SDM 3.2.3) ----------------------------------
// Software writes buffer_address; the device writes the rest back when it has
// put a frame (or a piece of one) into the buffer.

struct e1000_receive_descriptor {
    uint64_t buffer_address;   // physical address of the receive buffer
    uint16_t length;           // bytes the device stored in the buffer
    uint16_t checksum;         // a raw sum from RXCSUM.PCSS on (unused: the status bits say more)
    uint8_t status;            // E1000_RECEIVE_STATUS_*
    uint8_t errors;            // E1000_RECEIVE_ERROR_*, valid with EOP
    uint16_t special;          // VLAN tag (with VME)
};
_Static_assert(sizeof(struct e1000_receive_descriptor) == 16, "the device's receive descriptor is 16 bytes");

#define E1000_RECEIVE_STATUS_DD     (1u << 0)   // descriptor done: the device has written it back
#define E1000_RECEIVE_STATUS_EOP    (1u << 1)   // end of packet: the frame's last buffer
#define E1000_RECEIVE_STATUS_IXSM   (1u << 2)   // ignore checksum indication: IPCS/TCPCS mean nothing
#define E1000_RECEIVE_STATUS_TCPCS  (1u << 5)   // TCP/UDP checksum verified (its verdict is TCPE)
#define E1000_RECEIVE_STATUS_IPCS   (1u << 6)   // IPv4 header checksum verified (its verdict is IPE)

#define E1000_RECEIVE_ERROR_CE      (1u << 0)   // CRC or alignment error
#define E1000_RECEIVE_ERROR_SE      (1u << 1)   // symbol error
#define E1000_RECEIVE_ERROR_SEQ     (1u << 2)   // sequence error
#define E1000_RECEIVE_ERROR_CXE     (1u << 4)   // carrier extension error
#define E1000_RECEIVE_ERROR_TCPE    (1u << 5)   // the TCP/UDP checksum is wrong (with TCPCS)
#define E1000_RECEIVE_ERROR_IPE     (1u << 6)   // the IPv4 header checksum is wrong (with IPCS)
#define E1000_RECEIVE_ERROR_RXE     (1u << 7)   // receive data error
// The errors that make the frame itself bad. TCPE and IPE only say that a
// checksum the device verified was wrong: the frame still goes up, and the
// network stack checks it again and drops it if it agrees.
#define E1000_RECEIVE_ERRORS_FRAME  (E1000_RECEIVE_ERROR_CE | E1000_RECEIVE_ERROR_SE | \
                                     E1000_RECEIVE_ERROR_SEQ | E1000_RECEIVE_ERROR_CXE | \
                                     E1000_RECEIVE_ERROR_RXE)

// ---- Legacy transmit descriptor (8254x SDM 3.3.3) ------------------------------------
// Software writes everything but status; the device sets status's DD bit
// when it is done with a descriptor that asked for it (RS). The driver sends
// frames that need no checksum this way; the legacy checksum fields (CSO,
// CSS with IC) are not used, since QEMU's e1000 ignores them.

struct e1000_transmit_descriptor {
    uint64_t buffer_address;   // physical address of the bytes to send
    uint16_t length;           // how many
    uint8_t checksum_offset;   // CSO (unused); in extended descriptors DTYP is its high nibble
    uint8_t command;           // E1000_TRANSMIT_COMMAND_*
    uint8_t status;            // E1000_TRANSMIT_STATUS_* in the low 4 bits
    uint8_t checksum_start;    // CSS (unused)
    uint16_t special;          // VLAN tag (with VLE)
};
_Static_assert(sizeof(struct e1000_transmit_descriptor) == 16, "the device's transmit descriptor is 16 bytes");

#define E1000_TRANSMIT_COMMAND_EOP   (1u << 0)   // end of packet: the frame's last descriptor
#define E1000_TRANSMIT_COMMAND_IFCS  (1u << 1)   // insert the Ethernet CRC
#define E1000_TRANSMIT_COMMAND_IC    (1u << 2)   // insert checksum at CSO (legacy; unused)
#define E1000_TRANSMIT_COMMAND_RS    (1u << 3)   // report status: set DD when done
#define E1000_TRANSMIT_COMMAND_DEXT  (1u << 5)   // extended descriptor (context/data); 0: legacy
#define E1000_TRANSMIT_COMMAND_VLE   (1u << 6)   // insert the VLAN tag in special
#define E1000_TRANSMIT_COMMAND_IDE   (1u << 7)   // delay the TXDW interrupt by TIDV

#define E1000_TRANSMIT_STATUS_DD     (1u << 0)   // descriptor done
#define E1000_TRANSMIT_STATUS_EC     (1u << 1)   // excess collisions: the frame was not sent (half duplex)
#define E1000_TRANSMIT_STATUS_LC     (1u << 2)   // late collision (half duplex)

// ---- Extended transmit descriptors: context and data (8254x SDM 3.3.5-3.3.7) ---------
// Checksum offload. A context descriptor tells the device where checksums
// start, where they go and where they end; the device keeps that context
// for every following data descriptor until the next context descriptor.
// A data descriptor's POPTS then asks, per frame, for the checksums to be
// inserted. The device sums the bytes from the start to the end (0: the
// end of the frame) including what the checksum field already holds, and
// stores the complement there: software puts the pseudo-header's sum in
// the field first, since the device knows nothing of IP addresses.
// Both kinds are 16 bytes in the same ring as legacy descriptors, with the
// command byte (DEXT) and status byte in the same places.

struct e1000_transmit_context_descriptor {
    uint8_t ip_checksum_start;      // IPCSS: the IPv4 header's first byte
    uint8_t ip_checksum_offset;     // IPCSO: where its checksum goes
    uint16_t ip_checksum_end;       // IPCSE: its last byte
    uint8_t checksum_start;         // TUCSS: the TCP/UDP header's first byte
    uint8_t checksum_offset;        // TUCSO: where the TCP/UDP checksum goes (from the frame's start)
    uint16_t checksum_end;          // TUCSE: the last byte summed; 0: the frame's last
    uint8_t payload_length[3];      // PAYLEN, bits 0-19 (segmentation only); DTYP 0 in bits 20-23
    uint8_t command;                // TUCMD: E1000_TRANSMIT_COMMAND_DEXT, _RS (and segmentation bits)
    uint8_t status;                 // E1000_TRANSMIT_STATUS_DD
    uint8_t header_length;          // HDRLEN (segmentation only)
    uint16_t maximum_segment_size;  // MSS (segmentation only)
};
_Static_assert(sizeof(struct e1000_transmit_context_descriptor) == 16, "a context descriptor is 16 bytes");

struct e1000_transmit_data_descriptor {
    uint64_t buffer_address;        // physical address of the bytes to send
    uint16_t length;                // how many (bits 16-19 of the field, always 0 here, are in type_length)
    uint8_t type_length;            // DTYP (E1000_TRANSMIT_DTYP_DATA) in the high nibble
    uint8_t command;                // DCMD: E1000_TRANSMIT_COMMAND_* with DEXT
    uint8_t status;                 // E1000_TRANSMIT_STATUS_*
    uint8_t options;                // POPTS: E1000_TRANSMIT_OPTION_*
    uint16_t special;               // VLAN tag (with VLE)
};
_Static_assert(sizeof(struct e1000_transmit_data_descriptor) == 16, "a data descriptor is 16 bytes");

#define E1000_TRANSMIT_DTYP_DATA     (1u << 4)   // type_length: a data descriptor (0: context)
#define E1000_TRANSMIT_OPTION_IXSM   (1u << 0)   // insert the IPv4 header checksum
#define E1000_TRANSMIT_OPTION_TXSM   (1u << 1)   // insert the TCP/UDP checksum

// ---- Reaching the registers ------------------------------------------------------
// `registers` is the mapped BAR0 and `offset` one of the E1000_* offsets
// above. The kernel uses the definitions in kernel/drivers/e1000.c: one
// volatile 32-bit load or store to uncached memory. They are weak symbols,
// so that the hosted unit tests' fake device (tests/unit/fake_e1000_device.c)
// can replace them at link time and see every access the way the device
// would: a register read with a side effect (ICR clears itself, CTRL.RST
// clears itself after a while, EERD completes a read) cannot be modelled by
// memory alone.
uint32_t e1000_register_read(volatile uint32_t *registers, uint32_t offset);
void e1000_register_write(volatile uint32_t *registers, uint32_t offset, uint32_t value);

#endif
