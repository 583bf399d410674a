#pragma once
#include <string_view>

namespace vpnbot::emulator {

// The sandbox's web chat: one self-contained page (no external assets: the sandbox is offline) that acts as
// Telegram clients through the emulator's /client API — pick a user, send messages, press inline buttons,
// see edits in place, download documents and see photos (QR codes).
std::string_view webchat_html();

}  // namespace vpnbot::emulator
