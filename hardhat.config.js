// Hardhat is used only as a local JSON-RPC node (`npx hardhat node`) for integration tests and brownie;
// contracts are compiled by py-solc-x (see backend/chain/compiler.py), not by Hardhat.
module.exports = {
  solidity: { version: "0.8.28", settings: { evmVersion: "cancun" } },
  networks: {
    hardhat: {
      hardfork: "cancun",
      chainId: 31337,
      mining: { auto: true },
    },
  },
};
